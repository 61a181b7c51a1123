import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SessionData } from './session.js';

/** Session data fields that are credentials at the IdP: kept encrypted in the database. */
const SEALED: readonly (keyof SessionData)[] = ['refreshToken', 'idTokenHint'];
const PREFIX = 'sealed:v1:';

/**
 * AES-256-GCM for the tokens a session keeps (the OIDC refresh token and the id_token hint for logout), with keys
 * derived from `session.secret` (the first seals, all open: the secret list rotates). A database dump alone then
 * yields no usable refresh token.
 */
export class SealedFields {
  private readonly keys: Buffer[];

  constructor(secrets: readonly string[]) {
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', Buffer.from(s, 'utf8'), Buffer.alloc(0), 'claimgate session data', 32)));
  }

  /** A copy of `data` with its sealed fields encrypted (already sealed values are left as they are). */
  seal<T extends Partial<SessionData>>(data: T): T {
    const out = { ...data } as Record<string, unknown>;
    for (const f of SEALED) {
      const v = out[f];
      if (typeof v === 'string' && !v.startsWith(PREFIX)) out[f] = this.encrypt(v);
    }
    return out as T;
  }

  /** A copy of `data` with its sealed fields decrypted; a field no key opens is dropped (never passed on). */
  open(data: SessionData): SessionData {
    const out = { ...data } as Record<string, unknown>;
    for (const f of SEALED) {
      const v = out[f];
      if (typeof v !== 'string' || !v.startsWith(PREFIX)) continue;
      const plain = this.decrypt(v);
      if (plain === null) delete out[f];
      else out[f] = plain;
    }
    return out as SessionData;
  }

  private encrypt(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${PREFIX}${iv.toString('base64url')}.${body.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }

  private decrypt(sealed: string): string | null {
    const [iv, body, tag] = sealed.slice(PREFIX.length).split('.');
    if (!iv || body === undefined || !tag) return null;
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        d.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
      } catch {
        // another key, or tampered
      }
    }
    return null;
  }
}
