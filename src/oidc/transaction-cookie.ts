import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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

export interface TransactionCookieOptions {
  /** The session cookie's name; transaction cookies are `<name>_tx_<id>`. */
  baseName: string;
  /** Path the cookie is sent to: only the callback. */
  path: string;
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
 * refused. Each transaction has its own cookie, named after a hash of its state, so two tabs signing in at the
 * same time do not overwrite each other.
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

  /** The cookie name of the transaction with this state. */
  nameFor(state: string): string {
    return `${this.opts.baseName}_tx_${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
  }

  private mac(payload: string, key: Buffer): Buffer {
    return createHmac('sha256', key).update(payload).digest();
  }

  /** Set-Cookie for a new transaction. */
  serialize(tx: Omit<Transaction, 'expiresAt'>): string {
    const full: Transaction = { ...tx, expiresAt: this.now() + this.ttlSeconds };
    const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
    const value = `${payload}.${this.mac(payload, this.keys[0]!).toString('base64url')}`;
    return serialize(this.nameFor(tx.state), value, {
      httpOnly: true,
      secure: this.opts.secure || tx.responseMode === 'form_post',
      sameSite: tx.responseMode === 'form_post' ? 'none' : 'lax',
      path: this.opts.path,
      maxAge: this.ttlSeconds,
    });
  }

  /** Set-Cookie that removes the transaction of this state (done at every callback, accepted or not). */
  clear(state: string, responseMode: 'query' | 'form_post' = 'query'): string {
    return serialize(this.nameFor(state), '', {
      httpOnly: true,
      secure: this.opts.secure || responseMode === 'form_post',
      sameSite: responseMode === 'form_post' ? 'none' : 'lax',
      path: this.opts.path,
      expires: new Date(0),
    });
  }

  /**
   * The transaction for `state` from a Cookie header: `null` when there is none, its MAC matches no secret,
   * it has expired, or it was made for another state. Never throws on hostile input.
   */
  read(cookieHeader: string | undefined, state: string): Transaction | null {
    if (!cookieHeader || cookieHeader.length > 16384) return null;
    let raw: string | undefined;
    try {
      raw = parseCookieHeader(cookieHeader)[this.nameFor(state)];
    } catch {
      return null;
    }
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
