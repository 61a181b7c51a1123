import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseCookieHeader, serialize } from 'cookie';

/** What the browser carries between `/login` and `/callback`. Never logged. */
export interface Transaction {
  /** Issuer id. */
  issuerId: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Validated `return_to` (a safe target). */
  returnTo: string;
  /** `query` or `form_post`: the callback must arrive the way it was asked for. */
  responseMode: 'query' | 'form_post';
  /** Epoch seconds after which the transaction is refused. */
  expiresAt: number;
}

/** Transactions a browser keeps at once; a new one replaces the oldest. */
export const MAX_TRANSACTIONS = 3;
/** A longer `return_to` is not kept (the sign-in lands on `/`): it would make every transaction cookie large. */
export const MAX_RETURN_TO_CHARS = 2048;

export interface TransactionCookieOptions {
  /** The session cookie's name; transaction cookies are `<name>_tx_<slot>`, their index `<name>_txi`. */
  baseName: string;
  /** Path the cookie is sent to: only the callback. */
  path: string;
  /** Path of the sign-in start, where the index of the slots is sent. */
  loginPath: string;
  /** publicUrl is https. */
  secure: boolean;
  /** Lifetime in seconds (the user may take a while at the provider's login page). Default 600. */
  ttlSeconds?: number;
  now?: () => number;
}

/**
 * The OIDC transaction (state, nonce, PKCE verifier, return_to) in a short-lived, HttpOnly cookie, HMAC-signed
 * with a key derived from `session.secret` (derived, so a transaction MAC can never be replayed as a session
 * cookie MAC or the other way round; the first secret signs, all verify). The cookie binds the `state` to this
 * browser: a callback URL opened in another browser (login CSRF, a leaked code) finds no transaction and is
 * refused.
 *
 * A browser keeps at most {@link MAX_TRANSACTIONS} transactions, in fixed slots (`_tx_0`, `_tx_1`…), so two tabs
 * signing in at the same time do not overwrite each other, while a page that sends a browser to `/login` over and
 * over cannot pile up cookies until the callback's Cookie header is too large to be accepted (that browser could
 * then not sign in at all until they expired). The transaction cookies are sent to the callback only, so `/login`
 * learns which slot is free or oldest from a small index cookie (`_txi`, the expiry of each slot) sent to `/login`
 * only. The index is a hint, not a secret: forged, it can only make a new transaction replace another one of the
 * same browser.
 *
 * SameSite: `Lax` for query responses (a top-level GET from the provider carries Lax cookies); `None; Secure`
 * for `form_post`, whose cross-site POST would otherwise arrive without it (config validation requires https).
 */
export class TransactionCookie {
  private readonly keys: Buffer[];

  constructor(
    secrets: string[],
    private readonly opts: TransactionCookieOptions,
  ) {
    if (secrets.length === 0) throw new Error('session.secret is required');
    this.keys = secrets.map((s) => createHmac('sha256', s).update('claimgate oidc transaction v1').digest());
  }

  private now(): number {
    return Math.floor((this.opts.now ? this.opts.now() : Date.now()) / 1000);
  }

  get ttlSeconds(): number {
    return this.opts.ttlSeconds ?? 600;
  }

  /** The cookie name of a slot. */
  slotName(slot: number): string {
    return `${this.opts.baseName}_tx_${slot}`;
  }

  private get indexName(): string {
    return `${this.opts.baseName}_txi`;
  }

  private mac(payload: string, key: Buffer): Buffer {
    return createHmac('sha256', key).update(payload).digest();
  }

  /**
   * Set-Cookie lines that start a transaction: its cookie, in the first free slot or else the one expiring soonest
   * (from the index in `cookieHeader`, the request to `/login`), and the updated index.
   */
  start(tx: Omit<Transaction, 'expiresAt'>, cookieHeader: string | undefined): string[] {
    const now = this.now();
    const expiries = this.readIndex(cookieHeader);
    let slot = expiries.findIndex((e) => e <= now);
    if (slot === -1) slot = expiries.indexOf(Math.min(...expiries));
    const expiresAt = now + this.ttlSeconds;
    expiries[slot] = expiresAt;
    const index = serialize(this.indexName, expiries.join('.'), {
      httpOnly: true,
      secure: this.opts.secure,
      sameSite: 'lax',
      path: this.opts.loginPath,
      maxAge: this.ttlSeconds,
    });
    return [this.serialize(tx, slot, expiresAt), index];
  }

  /** Set-Cookie for a transaction in `slot`. */
  serialize(tx: Omit<Transaction, 'expiresAt'>, slot = 0, expiresAt = this.now() + this.ttlSeconds): string {
    const returnTo = tx.returnTo.length > MAX_RETURN_TO_CHARS ? '/' : tx.returnTo;
    const full: Transaction = { ...tx, returnTo, expiresAt };
    const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
    const value = `${payload}.${this.mac(payload, this.keys[0]!).toString('base64url')}`;
    return serialize(this.slotName(slot), value, {
      httpOnly: true,
      secure: this.opts.secure || tx.responseMode === 'form_post',
      sameSite: tx.responseMode === 'form_post' ? 'none' : 'lax',
      path: this.opts.path,
      maxAge: this.ttlSeconds,
    });
  }

  /** Set-Cookie that removes the transaction in `slot` (done at every callback that found one, accepted or not). */
  clear(slot: number, responseMode: 'query' | 'form_post' = 'query'): string {
    return serialize(this.slotName(slot), '', {
      httpOnly: true,
      secure: this.opts.secure || responseMode === 'form_post',
      sameSite: responseMode === 'form_post' ? 'none' : 'lax',
      path: this.opts.path,
      expires: new Date(0),
    });
  }

  /** The slots' expiries from the index cookie; anything unreadable counts as free. */
  private readIndex(cookieHeader: string | undefined): number[] {
    const out = Array<number>(MAX_TRANSACTIONS).fill(0);
    const raw = this.cookies(cookieHeader)?.get(this.indexName);
    if (!raw || !/^\d{1,12}(?:\.\d{1,12})*$/.test(raw)) return out;
    raw
      .split('.')
      .slice(0, MAX_TRANSACTIONS)
      .forEach((e, i) => (out[i] = Number(e)));
    return out;
  }

  private cookies(cookieHeader: string | undefined): Map<string, string> | null {
    if (!cookieHeader || cookieHeader.length > 16384) return null;
    try {
      return new Map(Object.entries(parseCookieHeader(cookieHeader)).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      return null;
    }
  }

  /** The transaction for `state` and its slot, or `null` (see {@link read}). */
  find(cookieHeader: string | undefined, state: string): { tx: Transaction; slot: number } | null {
    const jar = this.cookies(cookieHeader);
    if (!jar) return null;
    for (let slot = 0; slot < MAX_TRANSACTIONS; slot++) {
      const raw = jar.get(this.slotName(slot));
      const tx = raw === undefined ? null : this.verify(raw, state);
      if (tx) return { tx, slot };
    }
    return null;
  }

  /**
   * The transaction for `state` from a Cookie header: `null` when there is none, its MAC matches no secret,
   * it has expired, or it was made for another state. Never throws on hostile input.
   */
  read(cookieHeader: string | undefined, state: string): Transaction | null {
    return this.find(cookieHeader, state)?.tx ?? null;
  }

  private verify(raw: string, state: string): Transaction | null {
    if (!raw || raw.length > 4096) return null;
    const dot = raw.indexOf('.');
    if (dot <= 0) return null;
    const payload = raw.slice(0, dot);
    const given = Buffer.from(raw.slice(dot + 1), 'base64url');
    if (given.length !== 32) return null;
    if (!this.keys.some((k) => timingSafeEqual(given, this.mac(payload, k)))) return null;
    let tx: Transaction;
    try {
      tx = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Transaction;
    } catch {
      return null;
    }
    if (typeof tx !== 'object' || tx === null || typeof tx.expiresAt !== 'number' || tx.expiresAt < this.now()) return null;
    if (typeof tx.state !== 'string' || !safeEqual(tx.state, state)) return null;
    return tx;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
