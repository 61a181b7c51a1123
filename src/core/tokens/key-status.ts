/** What the console's overview shows about an issuer's remote key set. Never holds key material. */
export interface KeyStatus {
  lastFetchAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  keyIds: string[];
}

/** Per issuer (its `iss` value), the outcome of the latest key-set fetch of this process. */
const statuses = new Map<string, KeyStatus>();

export function keyStatusOf(issuer: string): KeyStatus | null {
  return statuses.get(issuer) ?? null;
}

function entry(issuer: string): KeyStatus {
  let s = statuses.get(issuer);
  if (!s) {
    if (statuses.size >= 1000) statuses.clear();
    s = { lastFetchAt: null, lastErrorAt: null, lastError: null, keyIds: [] };
    statuses.set(issuer, s);
  }
  return s;
}

export function noteKeysFetched(issuer: string, keyIds: string[]): void {
  const s = entry(issuer);
  s.lastFetchAt = new Date().toISOString();
  s.keyIds = keyIds;
}

export function noteKeyFetchFailed(issuer: string, message: string): void {
  const s = entry(issuer);
  s.lastErrorAt = new Date().toISOString();
  s.lastError = message;
}
