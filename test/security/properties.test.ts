/**
 * Property-based tests (fast-check): no input crashes these parsers, and their security invariants hold for every
 * input, not only the listed attacks.
 */
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { safeReturnTo } from '../../src/web/return-to.js';
import { makeHeaderFilter, buildIdentityHeaders, isClaimgateHeader } from '../../src/web/identity-headers.js';
import { normalizeRequestPath } from '../../src/core/upstream/path-normalize.js';
import { compileRoutes, authorize } from '../../src/core/upstream/route-rules.js';
import { validateMappingDocument, evaluateMapping } from '../../src/core/mapping/index.js';
import { SessionCookie } from '../../src/core/sessions/cookie.js';

const RUNS = { numRuns: 2000 };
const opts = { publicUrl: 'https://bi.example.com', allowedOrigins: ['https://portal.example.com'], basePath: '/claimgate' };

/** Strings built from the characters open-redirect tricks are made of, plus anything at all. */
const tricky = fc.oneof(
  fc.string({ unit: fc.constantFrom('/', '\\', '.', ':', '@', '%', '0', '9', 'a', 'e', 'v', 'l', '?', '#', ' ', '\t', '\n', 'h', 't', 'p', 's', 'j') , maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom('//', '/\\', '\\/', '/%09/', '/%2F/', 'https:', 'javascript:', '/.//').chain((p) => fc.string({ maxLength: 20 }).map((s) => p + s)),
);

describe('return_to: nothing off-origin, for any input', () => {
  it('the answer is "/", a same-origin path, or a URL on an allowed origin', () => {
    fc.assert(
      fc.property(tricky, (raw) => {
        const out = safeReturnTo(raw, opts);
        const resolved = new URL(out, 'https://bi.example.com');
        expect(['https://bi.example.com', 'https://portal.example.com']).toContain(resolved.origin);
        if (out.startsWith('/')) {
          expect(out.startsWith('//')).toBe(false);
          expect(out.startsWith('/\\')).toBe(false);
        }
        // eslint-disable-next-line no-control-regex
        expect(out).not.toMatch(/[\u0000-\u001f\u007f\s\\]/);
      }),
      RUNS,
    );
  });

  it('never throws on non-strings either', () => {
    fc.assert(fc.property(fc.anything(), (raw) => typeof safeReturnTo(raw, opts) === 'string'), { numRuns: 500 });
  });
});

describe('identity headers: nothing a client sends survives the filter', () => {
  const filter = makeHeaderFilter(['Remote-User']);
  const variant = fc
    .tuple(fc.constantFrom('x', 'X'), fc.constantFrom('-', '_', '.', ' '), fc.constantFrom('claimgate', 'CLAIMGATE', 'ClaimGate', 'cLaImGaTe'), fc.constantFrom('-', '_', '.'), fc.string({ maxLength: 12 }))
    .map(([x, s1, c, s2, rest]) => `${x}${s1}${c}${s2}${rest}`);

  it('every spelling of X-Claimgate-* and of a configured name is an identity header', () => {
    fc.assert(fc.property(variant, (name) => expect(filter(name)).toBe(true)), RUNS);
    fc.assert(
      fc.property(fc.constantFrom('remote-user', 'REMOTE_USER', 'Remote.User', 'rEmOtE-uSeR'), (name) => expect(filter(name)).toBe(true)),
    );
  });

  it('no header the filter lets through reads as an X-Claimgate-* header in any backend spelling', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        if (filter(name)) return;
        const backend = name.toLowerCase().replace(/_/g, '-');
        expect(backend.startsWith('x-claimgate-') || backend === 'x-claimgate').toBe(false);
        expect(isClaimgateHeader(name)).toBe(false);
      }),
      RUNS,
    );
  });

  it('values built for the app never carry a control character, whatever the user record holds', () => {
    const names = { user: 'X-Claimgate-User', userId: 'X-Claimgate-User-Id', email: 'X-Claimgate-Email', name: 'X-Claimgate-Name', roles: 'X-Claimgate-Roles', permissions: 'X-Claimgate-Permissions', assertion: 'X-Claimgate-Assertion' };
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.array(fc.string()), (usercode, email, displayName, roles) => {
        const h = buildIdentityHeaders({ userId: '01ABC', usercode, email, displayName, roles, permissions: roles }, names, 'a.b.c');
        for (const v of Object.values(h)) expect(v).toMatch(/^[\x20-\x7e]*$/);
        // A role with a comma in its name never reads as two roles.
        expect(h['x-claimgate-roles']!.split(',').filter(Boolean).length).toBe(roles.filter((r) => r !== '').length);
      }),
      RUNS,
    );
  });
});

describe('path normalisation and route rules', () => {
  const routes = compileRoutes([{ path: '/admin/*', anyRole: ['admin'] }]);
  const user = { userId: 'u', usercode: 'u', email: null, displayName: null, roles: ['viewer'], permissions: [], attributes: {}, version: 1 };
  const pathish = fc.string({ unit: fc.constantFrom('/', '.', '%', '2', 'f', 'F', '5', 'c', 'C', 'a', 'd', 'm', 'i', 'n', 'A', 'D', 'M', 'I', 'N', ';', '?', '#', '\\', 'x'), maxLength: 24 });

  it('never throws, and a path that reaches /admin by any spelling is either refused or denied', () => {
    fc.assert(
      fc.property(pathish, fc.constantFrom('', '/'), (p, lead) => {
        const norm = normalizeRequestPath(`${lead}${p}`);
        if (!norm.ok) return;
        expect(norm.path.startsWith('/')).toBe(true);
        expect(norm.path).not.toMatch(/\/\.\.?(\/|$)|\/\//);
        const decision = authorize(routes.match(norm.path, 'GET'), user);
        // What a lenient app would serve: decode, lowercase, collapse slashes, strip ;params.
        let lenient: string;
        try {
          lenient = decodeURIComponent(norm.path);
        } catch {
          return;
        }
        lenient = lenient.toLowerCase().replace(/;[^/]*/g, '').replace(/\/+/g, '/');
        if (lenient === '/admin' || lenient.startsWith('/admin/')) expect(decision).toBe('deny');
      }),
      RUNS,
    );
  });
});

describe('mapping engine: any claims, no crash, and the outcome is well-formed', () => {
  const { mapping } = validateMappingDocument(
    {
      match: "type(tenant) != 'null'",
      require: [{ expr: 'email_verified != `false`', message: 'nope' }],
      user: { usercode: 'preferred_username || sub', email: 'email', displayName: 'name', tags: 'tags' },
      roles: [
        { from: 'groups', map: { a: 'admin' } },
        { from: 'groups', pattern: '^r-(.+)$', to: '$1' },
        { when: "contains(groups || `[]`, 'f')", add: ['finance'] },
        { default: ['viewer'] },
      ],
      permissions: [{ from: 'perms[].name', pattern: '.*' }],
      attributes: { region: 'regions', nested: '"https://x/claims"[0].list' },
    },
    'm',
  );

  it('returns allowed with string lists, or a denial with a rule, for arbitrary JSON claims', () => {
    const claims = fc.record(
      {
        tenant: fc.jsonValue(),
        sub: fc.oneof(fc.string(), fc.jsonValue()),
        preferred_username: fc.jsonValue(),
        email: fc.jsonValue(),
        email_verified: fc.jsonValue(),
        name: fc.jsonValue(),
        tags: fc.jsonValue(),
        groups: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        perms: fc.jsonValue(),
        regions: fc.jsonValue(),
        'https://x/claims': fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(claims, (c) => {
        const out = evaluateMapping(mapping!, c as Record<string, unknown>);
        if (out.allowed) {
          expect(typeof out.user.usercode).toBe('string');
          expect(out.user.usercode.length).toBeGreaterThan(0);
          for (const list of [out.user.roles, out.user.permissions, ...Object.values(out.user.attributes)]) {
            expect(list.every((v) => typeof v === 'string')).toBe(true);
          }
          expect(out.user.roles.length).toBeGreaterThan(0);
        } else {
          expect(typeof out.rule).toBe('string');
          expect(typeof out.message).toBe('string');
        }
      }),
      RUNS,
    );
  });
});

describe('session cookies: crafted values never crash the parser or verify', () => {
  const cookie = new SessionCookie(['k'.repeat(40)], { name: 'claimgate_session', secure: true, sameSite: 'lax', path: '/' });
  it('any Cookie header yields null or a real id', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 100 }).map((s) => `claimgate_session=${s}`)), (header) => {
        expect(cookie.read(header)).toBeNull();
      }),
      RUNS,
    );
    const id = SessionCookie.newId();
    expect(cookie.read(`a=b; claimgate_session=${cookie.sign(id)}`)).toBe(id);
  });
});
