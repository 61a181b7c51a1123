import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/app/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'cg-check-'));
async function check(text: string | null, env: Record<string, string> = {}) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  if (text !== null) writeFileSync(file, text);
  const err: string[] = [];
  const code = await runCli(['check-config', '--config', file], { out: () => undefined, err: (s) => err.push(s), env });
  return { code, lines: err };
}

const valid = `publicUrl: https://bi.example.com
session: { secret: \${SESSION_SECRET} }
upstream: { url: http://127.0.0.1:9000 }
issuers:
  - { id: corp, issuer: https://idp.example.com, audiences: [claimgate], jwksUri: https://idp.example.com/jwks, algorithms: [RS256], mapping: corp }
mappings:
  corp: { user: { usercode: sub } }
`;

describe('claimgate check-config', () => {
  it('exit 0 for a valid file', async () => {
    const r = await check(valid, { SESSION_SECRET: 'x'.repeat(40) });
    expect(r.code).toBe(0);
    expect(r.lines.join('\n')).toMatch(/valid \(1 issuer\(s\), 1 mapping\(s\)\)/);
  });

  it('exit 1 with one `path: message (how to fix)` line per problem', async () => {
    const text = valid.replace('https://bi.example.com', 'nope').replace('algorithms: [RS256]', 'algorithms: [none]').replace('mapping: corp }', 'mapping: corp, colour: red }');
    const r = await check(text, {});
    expect(r.code).toBe(1);
    expect(r.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^session\.secret: environment variable SESSION_SECRET is not set \(set SESSION_SECRET/),
        expect.stringMatching(/^publicUrl: must be an absolute URL/),
        expect.stringMatching(/^issuers\[0\]\.algorithms\[0\]: must be one of /),
        expect.stringMatching(/^issuers\[0\]\.colour: unknown key \(remove it/),
      ]),
    );
    expect(r.lines).toHaveLength(4);
  });

  it('exit 2 for a file that cannot be read or is not YAML', async () => {
    expect((await check(null)).code).toBe(2);
    const r = await check('publicUrl: [unclosed\n');
    expect(r.code).toBe(2);
    expect(r.lines[0]).toMatch(/YAML syntax error/);
  });

  it('warns, without failing, about a mapping that is not in the file', async () => {
    const r = await check(valid.replace('mapping: corp }', 'mapping: elsewhere }'), { SESSION_SECRET: 'x'.repeat(40) });
    expect(r.code).toBe(0);
    expect(r.lines[0]).toMatch(/^warning: issuers\[0\]\.mapping: "elsewhere" is not defined/);
  });

  it('warns, without failing, when the sync API or the event receiver may grant any role', async () => {
    const env = { SESSION_SECRET: 'x'.repeat(40) };
    const open = await check(valid, env);
    expect(open.code).toBe(0);
    expect(open.lines).toContainEqual(expect.stringMatching(/^warning: provisioning\.api\.allowedRoles: not set, so a credential with scope users:sync may grant any role/));
    expect(open.lines.some((l) => l.includes('provisioning.events'))).toBe(false);

    const events = `${valid}provisioning:\n  events: { jwksUri: https://idaas.example.com/jwks, appId: app1, groupRoles: { Admins: admin } }\n`;
    const withEvents = await check(events, env);
    expect(withEvents.code).toBe(0);
    expect(withEvents.lines).toContainEqual(expect.stringMatching(/^warning: provisioning\.events\.allowedRoles: not set/));

    const closed = await check(`${valid}provisioning:\n  api: { allowedRoles: [analyst] }\n  events: { jwksUri: https://idaas.example.com/jwks, appId: app1, allowedRoles: [] }\n`, env);
    expect(closed.code).toBe(0);
    expect(closed.lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  });
});
