import type { Config } from '../../core/config/schema.js';
import { validateMappingDocument, evaluateMapping, type CompiledMapping, type ProfileField } from '../../core/mapping/index.js';
import { MappingConfigError } from '../../core/mapping/errors.js';
import type { UserRow } from '../../store/users/row.js';
import { own } from '../../core/own-keys.js';

export type DirectoryConfig = NonNullable<Config['jobs']['profile']['directory']>;

/** Used when `jobs.profile.directory.mapping` is empty: the directory answers in claimgate's own field names. */
export const DEFAULT_DIRECTORY_MAPPING: Record<string, string> = {
  email: 'email',
  displayName: 'displayName',
  firstName: 'firstName',
  lastName: 'lastName',
};

/** Placeholders of `urlTemplate` and the user column each stands for. */
const PLACEHOLDERS: Record<string, keyof UserRow> = {
  id: 'id',
  usercode: 'usercode',
  email: 'email',
  idpReferenceId: 'idp_reference_id',
  idpUsername: 'idp_username',
  idpWorkforceId: 'idp_workforce_id',
  idpCloudUsername: 'idp_cloud_username',
};

/** Largest directory answer read (a profile is a few hundred bytes). */
const MAX_ANSWER_BYTES = 256 * 1024;

/** What the directory said about one user. */
export type DirectoryAnswer =
  | { ok: true; profile: Partial<Record<ProfileField, string | string[]>> }
  | { ok: false; detail: string };

/**
 * The profile directory: one HTTP JSON endpoint per user (`urlTemplate` with `{usercode}`, `{id}`, `{email}`,
 * `{idpReferenceId}`…, each percent-encoded), its answer mapped with the claim-mapping language (the `mapping`
 * record is the `user:` section of a mapping: field -> JMESPath expression). Every call has its own timeout;
 * redirects are not followed (a directory answer must come from the configured address). Header values are
 * secrets: they never reach a log or a status detail.
 */
export class Directory {
  readonly fields: ProfileField[];
  private readonly mapping: CompiledMapping;

  constructor(
    private readonly config: DirectoryConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    const user = Object.keys(config.mapping).length ? config.mapping : DEFAULT_DIRECTORY_MAPPING;
    const { mapping, problems } = validateMappingDocument({ user: { usercode: "'directory'", ...user } }, 'jobs.profile.directory');
    if (!mapping || 'usercode' in config.mapping) {
      const list = 'usercode' in config.mapping ? [{ path: 'jobs.profile.directory.mapping.usercode', message: 'the directory cannot change the usercode' }] : [];
      list.push(...problems.map((p) => ({ ...p, path: p.path.replace(/^jobs\.profile\.directory\.user/, 'jobs.profile.directory.mapping') })));
      throw new MappingConfigError(list);
    }
    this.mapping = mapping;
    this.fields = Object.keys(user).filter((f) => f !== 'userType') as ProfileField[];
  }

  /** The URL for a user, or null when the template needs a value the user does not have. */
  urlFor(row: UserRow): { url: string } | { missing: string } {
    let missing: string | null = null;
    const url = this.config.urlTemplate.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
      const col = own(PLACEHOLDERS, name);
      if (!col) return whole;
      const v = row[col];
      if (v === null || v === undefined || v === '') {
        missing ??= name;
        return '';
      }
      return encodeURIComponent(String(v));
    });
    return missing ? { missing } : { url };
  }

  async lookup(row: UserRow, signal: AbortSignal): Promise<DirectoryAnswer> {
    const target = this.urlFor(row);
    if ('missing' in target) return { ok: false, detail: `the user has no ${target.missing} for the directory URL` };
    let res: Response;
    try {
      res = await this.fetchImpl(target.url, {
        headers: { accept: 'application/json', ...this.config.headers },
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'TimeoutError') return { ok: false, detail: `the directory did not answer within ${this.config.timeoutMs} ms` };
      if (name === 'AbortError') return { ok: false, detail: 'the lookup was cancelled (the gateway is stopping)' };
      const code = (e as { cause?: { code?: string } }).cause?.code;
      return { ok: false, detail: `the directory is unreachable${code ? ` (${code})` : ''}` };
    }
    try {
      if (res.status === 404) return { ok: false, detail: 'the directory does not know this user (HTTP 404)' };
      if (res.status !== 200) return { ok: false, detail: `the directory answered HTTP ${res.status}` };
      const text = await readBounded(res);
      if (text === null) return { ok: false, detail: `the directory's answer is larger than ${MAX_ANSWER_BYTES} bytes` };
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return { ok: false, detail: 'the directory did not answer JSON' };
      }
      if (typeof data !== 'object' || data === null) return { ok: false, detail: 'the directory did not answer a JSON object' };
      const outcome = evaluateMapping(this.mapping, data as Record<string, unknown>);
      if (!outcome.allowed) return { ok: false, detail: 'the directory mapping could not be applied' };
      return { ok: true, profile: outcome.user.profile };
    } finally {
      await res.body?.cancel().catch(() => undefined);
    }
  }
}

async function readBounded(res: Response): Promise<string | null> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) return null;
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
