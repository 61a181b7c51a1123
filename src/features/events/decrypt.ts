import { compactDecrypt } from 'jose';
import { badRequest } from './errors.js';

/** The content encryption the configured key's length calls for (the sender's SDK accepts all three). */
const ENC_BY_KEY_BYTES: Record<number, string> = { 16: 'A128GCM', 24: 'A192GCM', 32: 'A256GCM' };

/**
 * Decrypts `cipherData`: a compact JWE with `alg: dir` and the AES-GCM `enc` matching the configured hex key's
 * length (64 hex characters: A256GCM). Anything else (another algorithm, another key, a tampered tag) is refused.
 */
export async function decryptCipherData(cipherData: unknown, hexKey: string | undefined): Promise<unknown> {
  if (!hexKey) throw badRequest('the push is encrypted but no provisioning.events.decryptionKey is configured');
  if (typeof cipherData !== 'string' || !cipherData) throw badRequest('cipherData must be a compact JWE');
  const key = Buffer.from(hexKey, 'hex');
  const enc = ENC_BY_KEY_BYTES[key.length];
  if (!enc) throw badRequest('the configured decryption key has an unsupported length');
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(cipherData, new Uint8Array(key), {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: [enc],
    }));
  } catch (e) {
    throw badRequest(`the push could not be decrypted (dir + ${enc} with the configured key)`, e);
  }
  try {
    return JSON.parse(Buffer.from(plaintext).toString('utf8'));
  } catch {
    throw badRequest('the decrypted data is not JSON');
  }
}
