import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parse as parseCookieHeader, serialize } from 'cookie';

/**
 * The session cookie carries an opaque random id and an HMAC of it (`<id>.<mac>`). The MAC lets a forged or
 * garbage cookie be refused without a database round trip; the id itself is only ever stored hashed, so a
 * database dump does not yield usable cookies. Secrets rotate: the first signs, all verify.
 */
export class SessionCookie {
  private readonly keys: Buffer[];

  constructor(
    secrets: string[],
    readonly options: { name: string; secure: boolean; sameSite: 'lax' | 'strict' | 'none'; path: string },
  ) {
    if (secrets.length === 0) throw new Error('session.secret is required');
    this.keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  /** A new opaque session id (256 bits). */
  static newId(): string {
    return randomBytes(32).toString('base64url');
  }

  private static readonly hashes = new Map<string, string>();

  /** What the database stores instead of the id (memoised: the hot path asks for it on every request). */
  static hashId(id: string): string {
    let h = SessionCookie.hashes.get(id);
    if (h === undefined) {
      h = createHash('sha256').update(id).digest('base64url');
      if (SessionCookie.hashes.size >= 50_000) SessionCookie.hashes.clear();
      SessionCookie.hashes.set(id, h);
    }
    return h;
  }

  private mac(id: string, key: Buffer): Buffer {
    return createHmac('sha256', key).update(id).digest();
  }

  /** Cookie value for an id. */
  sign(id: string): string {
    return `${id}.${this.mac(id, this.keys[0]!).toString('base64url')}`;
  }

  /**
   * Cookie values already verified: a pure function of the value and the secrets, so remembering it is safe and
   * saves an HMAC per proxied request. Only valid values are kept (garbage cannot fill it), bounded.
   */
  private readonly verified = new Map<string, string>();

  /** The id inside a cookie value, or null if it is malformed or its MAC matches no secret. */
  verify(value: string | undefined): string | null {
    if (!value || value.length > 200) return null;
    const known = this.verified.get(value);
    if (known !== undefined) return known;
    const id = this.verifyUncached(value);
    if (id !== null) {
      if (this.verified.size >= 50_000) this.verified.clear();
      this.verified.set(value, id);
    }
    return id;
  }

  private verifyUncached(value: string): string | null {
    const dot = value.indexOf('.');
    if (dot !== 43 || value.length !== 87) return null;
    const id = value.slice(0, dot);
    let given: Buffer;
    try {
      given = Buffer.from(value.slice(dot + 1), 'base64url');
    } catch {
      return null;
    }
    if (given.length !== 32) return null;
    for (const key of this.keys) {
      if (timingSafeEqual(given, this.mac(id, key))) return id;
    }
    return null;
  }

  /** Reads our cookie from a Cookie header; never throws on hostile input. */
  read(cookieHeader: string | undefined): string | null {
    if (!cookieHeader || cookieHeader.length > 16384) return null;
    try {
      return this.verify(parseCookieHeader(cookieHeader)[this.options.name]);
    } catch {
      return null;
    }
  }

  /** Set-Cookie value that starts a session. Browser-session cookie: the server owns the lifetime. */
  serialize(id: string): string {
    return serialize(this.options.name, this.sign(id), {
      httpOnly: true,
      secure: this.options.secure,
      sameSite: this.options.sameSite,
      path: this.options.path,
    });
  }

  /** Set-Cookie value that clears it. */
  clear(): string {
    return serialize(this.options.name, '', {
      httpOnly: true,
      secure: this.options.secure,
      sameSite: this.options.sameSite,
      path: this.options.path,
      expires: new Date(0),
    });
  }
}
