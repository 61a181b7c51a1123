import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText, loadConfigFile } from '../../src/core/config/load.js';
import { ConfigError, formatProblem } from '../../src/core/config/problems.js';

const SECRET = 'x'.repeat(40);
const base = `
publicUrl: https://bi.example.com
session: { secret: "${SECRET}" }
upstream: { url: http://127.0.0.1:9000 }
issuers:
  - id: corp
    issuer: https://idp.example.com
    audiences: [claimgate]
    jwksUri: https://idp.example.com/jwks
    algorithms: [RS256]
    mapping: corp
mappings:
  corp:
    user: { usercode: "preferred_username || sub", email: email }
    roles:
      - { from: groups, map: { bi-admins: admin } }
`;

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfigText(text, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

describe('configuration', () => {
  it('loads a valid file with defaults filled in from one place', () => {
    const c = parseConfigText(base, {});
    expect(c.basePath).toBe('/claimgate');
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.session.secret).toEqual([SECRET]);
    expect(c.session.cookieName).toBe('claimgate_session');
    expect(c.issuers[0]!.ssoLink).toEqual({ enabled: false, requireJti: true, maxTokenAgeSeconds: 120 });
    expect(c.issuers[0]!.clockToleranceSeconds).toBe(30);
    expect(c.rateLimits.sso.perMinute).toBe(600);
    expect(c.forwarding.headerNames.user).toBe('X-Claimgate-User');
    expect(c.trustedProxies).toEqual([]);
  });

  it('substitutes ${VAR} and ${VAR:-default}, reads numbers written through the environment, PORT overrides', () => {
    const text = base.replace(`"${SECRET}"`, '${SESSION_SECRET}') + 'listen: { port: "${MY_PORT:-9001}" }\n';
    const c = parseConfigText(text, { SESSION_SECRET: SECRET });
    expect(c.listen.port).toBe(9001);
    expect(parseConfigText(text, { SESSION_SECRET: SECRET, PORT: '7000' }).listen.port).toBe(7000);
  });

  it('a value from the environment cannot change the document structure', () => {
    const text = base.replace(`"${SECRET}"`, '${SESSION_SECRET}');
    const tricky = `${SECRET}\nbasePath: /evil`;
    const c = parseConfigText(text, { SESSION_SECRET: tricky });
    expect(c.session.secret).toEqual([tricky]);
    expect(c.basePath).toBe('/claimgate');
  });

  it('reports an unset variable with its path', () => {
    const text = base.replace(`"${SECRET}"`, '${SESSION_SECRET}');
    expect(problemsOf(text)).toEqual([expect.stringMatching(/^session\.secret: environment variable SESSION_SECRET is not set/)]);
  });

  it('reports five mistakes as five messages, each with its path', () => {
    const text = `
publicUrl: not-a-url
session: { secret: short }
upstream: { url: http://127.0.0.1:9000, mode: sideways }
issuers:
  - id: corp
    issuer: https://idp.example.com
    audiences: []
    jwksUri: https://idp.example.com/jwks
    algorithms: [RS256]
    mapping: corp
    colour: blue
`;
    const p = problemsOf(text);
    expect(p).toHaveLength(5);
    expect(p.join('\n')).toMatch(/^publicUrl: /m);
    expect(p.join('\n')).toMatch(/^upstream\.mode: must be one of/m);
    expect(p.join('\n')).toMatch(/^issuers\[0\]\.audiences: must have at least 1/m);
    expect(p.join('\n')).toMatch(/^issuers\[0\]\.colour: unknown key \(remove it/m);
    expect(p.join('\n')).toMatch(/^session\.secret: must be at least 32 bytes|^publicUrl/m);
  });

  it.each([
    ['HS mixed with RS', 'algorithms: [RS256]', 'algorithms: [RS256, HS256]', /issuers\[0\]\.algorithms: mixes HMAC/],
    ['algorithm none', 'algorithms: [RS256]', 'algorithms: [none]', /issuers\[0\]\.algorithms\[0\]: must be one of/],
    ['two key sources', 'jwksUri: https://idp.example.com/jwks', 'jwksUri: https://idp.example.com/jwks\n    discovery: true', /several key sources/],
    ['no key source', 'jwksUri: https://idp.example.com/jwks', 'createUsers: true', /has no key source/],
    ['short shared secret', "jwksUri: https://idp.example.com/jwks\n    algorithms: [RS256]", 'sharedSecret: tooshort\n    algorithms: [HS256]', /sharedSecret: must be at least 32 bytes/],
    ['http jwks on a public host', 'jwksUri: https://idp.example.com/jwks', 'jwksUri: http://idp.example.com/jwks', /jwksUri: must be https/],
    ['publicUrl as issuer', 'issuer: https://idp.example.com', 'issuer: https://bi.example.com/', /issuer: is the gateway's own publicUrl/],
    ['bad JMESPath', 'from: groups, map', 'from: "groups[", map', /^mappings\.corp\.roles\[0\]\.from: /],
    ['unknown rule form', '- { from: groups, map: { bi-admins: admin } }', '- { frm: groups }', /^mappings\.corp\.roles\[0\]: unknown rule form/],
  ])('refuses %s', (_name, from, to, expected) => {
    const text = base.replace(from, to);
    expect(text).not.toBe(base);
    expect(problemsOf(text).join('\n')).toMatch(expected);
  });

  it('accepts http for loopback issuers', () => {
    const text = base.replaceAll('https://idp.example.com', 'http://127.0.0.1:4000');
    expect(problemsOf(text)).toEqual([]);
  });

  it('an unreadable file is flagged as such', () => {
    expect(() => loadConfigFile('/nonexistent/claimgate.yaml', {})).toThrow(ConfigError);
    try {
      loadConfigFile('/nonexistent/claimgate.yaml', {});
    } catch (e) {
      expect((e as ConfigError).unreadable).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'cg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'publicUrl: [unclosed\n');
    expect(() => loadConfigFile(join(dir, 'bad.yaml'), {})).toThrow(/YAML syntax error/);
  });
});

describe('configuration: one run reports everything', () => {
  it('a bad JMESPath expression is reported together with a schema mistake elsewhere', () => {
    const text = base.replace('from: groups, map', 'from: "groups[", map').replace('audiences: [claimgate]', 'audiences: []');
    const p = problemsOf(text).join('\n');
    expect(p).toMatch(/^issuers\[0\]\.audiences: /m);
    expect(p).toMatch(/^mappings\.corp\.roles\[0\]\.from: /m);
  });
});

describe('a command needs only the variables of the sections it reads', () => {
  const text = `publicUrl: \${PUBLIC_URL}
session: { secret: \${SESSION_SECRET} }
upstream: { url: \${APP_URL} }
database: { url: \${DATABASE_URL:-}, dataDir: \${DATA_DIR} }
`;
  it('tokens (database only) loads with the session and upstream variables unset', () => {
    const config = parseConfigText(text, { DATA_DIR: '/tmp/cg' }, 'f.yaml', ['database']);
    expect(config.database.dataDir).toBe('/tmp/cg');
  });
  it('a variable of a needed section still has to be set, and says so', () => {
    expect(() => parseConfigText(text, {}, 'f.yaml', ['database'])).toThrow(/environment variable DATA_DIR is not set/);
    try {
      parseConfigText(text, {}, 'f.yaml', ['database']);
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.path)).toEqual(['database.dataDir']);
    }
  });
  it('start (everything) reports every unset variable', () => {
    try {
      parseConfigText(text, { DATA_DIR: 'x' });
      throw new Error('accepted');
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.path).sort()).toEqual(['publicUrl', 'session.secret', 'upstream.url']);
    }
  });
});
