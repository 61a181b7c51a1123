// The admin API as the console calls it: the session cookie authenticates; a change also sends the CSRF token that
// /me hands out to this session.

const base = document.body.dataset.base;
let mePromise = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** Who is signed in, their admin scopes and the CSRF token (one request per page load). */
export function me() {
  mePromise ??= fetch(`${base}/me`, { headers: { accept: 'application/json' }, credentials: 'same-origin' }).then(async (r) => {
    if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
    return r.json();
  });
  return mePromise;
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = (await me()).csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}/admin/v1${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export const get = (path) => api('GET', path);
export const consoleUrl = (path = '') => `${base}/console/${path}`;
export const canWrite = async () => ((await me()).adminScopes ?? []).includes('admin:write');
