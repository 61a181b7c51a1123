import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { compileRoutes, authorize, routeMatchKey } from '../../src/core/upstream/route-rules.js';
import { normalizeRequestPath } from '../../src/core/upstream/path-normalize.js';
import type { RouteConfig } from '../../src/core/config/schema.js';

const ROUTES: RouteConfig[] = [
  { path: '/assets/*', public: true },
  { path: '/admin/*', anyRole: ['admin'] },
  { path: '/reports', anyRole: ['analyst', 'admin'] },
  { path: '/api/*', methods: ['POST', 'DELETE'], anyPermission: ['api:write'] },
  { path: '/api/*', methods: ['GET'], anyPermission: ['api:read'] },
  { path: '/finance/*', anyRole: ['finance'], allRoles: ['viewer', 'employee'], anyPermission: ['fin:read'] },
  { path: '/public', public: true },
];
const m = compileRoutes(ROUTES);
const admin = ROUTES[1];

describe('compileRoutes.match', () => {
  it.each([
    ['/assets/app.js', 'GET', 0],
    ['/assets', 'GET', 0],
    ['/admin', 'GET', 1],
    ['/admin/', 'GET', 1],
    ['/admin/users/1', 'POST', 1],
    ['/administrator', 'GET', undefined],
    ['/admin-x', 'GET', undefined],
    ['/reports', 'GET', 2],
    ['/reports/', 'GET', 2],
    ['/reports/42', 'GET', undefined],
    ['/reportsx', 'GET', undefined],
    ['/api/x', 'POST', 3],
    ['/api/x', 'delete', 3],
    ['/api/x', 'GET', 4],
    ['/api/x', 'HEAD', 4],
    ['/api/x', 'PUT', undefined],
    ['/ADMIN/x', 'GET', 1],
    ['/Admin;jsessionid=1/x', 'GET', 1],
    ['/admin;x', 'GET', 1],
    ['/;x/admin', 'GET', 1],
    ['/', 'GET', undefined],
  ])('%s %s -> rule %p', (path, method, idx) => {
    expect(m.match(path, method)).toBe(idx === undefined ? undefined : ROUTES[idx]);
  });

  it('"/*" matches everything; exact "/" only the root', () => {
    const all = compileRoutes([{ path: '/*', anyRole: ['x'] }]);
    expect(all.match('/', 'GET')).toBeDefined();
    expect(all.match('/a/b', 'GET')).toBeDefined();
    const root = compileRoutes([{ path: '/', public: true }]);
    expect(root.match('/', 'GET')).toBeDefined();
    expect(root.match('/a', 'GET')).toBeUndefined();
  });

  it('an empty methods list means every method', () => {
    expect(compileRoutes([{ path: '/x', methods: [] }]).match('/x', 'PATCH')).toBeDefined();
  });

  it('first match wins', () => {
    const r: RouteConfig[] = [{ path: '/a/*', public: true }, { path: '/a/b', anyRole: ['x'] }];
    expect(compileRoutes(r).match('/a/b', 'GET')).toBe(r[0]);
  });

  it('refuses "*" anywhere but the last segment', () => {
    expect(() => compileRoutes([{ path: '/a/*/b' }])).toThrow(/routes\[0\]\.path/);
    expect(() => compileRoutes([{ path: '/a*' }])).toThrow();
    expect(() => compileRoutes([{ path: '/ok/*' }, { path: '/x*/*' }])).toThrow(/routes\[1\]/);
  });

  it('rule paths are case-insensitive too', () => {
    expect(compileRoutes([{ path: '/Admin/*' }]).match('/admin/x', 'GET')).toBeDefined();
  });

  it('routeMatchKey', () => {
    expect(routeMatchKey('/Admin;jsessionid=1/X/')).toBe('/admin/x');
    // An app that folds Unicode serves a full-width spelling as the ASCII one; the rules compare it folded too.
    expect(routeMatchKey('/ａｄｍｉｎ/x')).toBe('/admin/x');
    expect(compileRoutes([{ path: '/admin/*', anyRole: ['admin'] }]).match('/ＡＤＭＩＮ/x', 'GET')?.path).toBe('/admin/*');
  });
});

describe('attacks cannot escape an /admin/* rule', () => {
  it.each([
    '/ADMIN/x', '//admin/x', '/admin%2Fx', '/a/../admin/x', '/admin;x', '/admin;x/y', '/admin?x=/public',
    '/admin/x#/public', '/./admin/x', '/admin/./x', '/Admin/x', '/%61dmin/x', '/public/..;/admin/x',
    '/public/%2e%2e/admin/x', '/admin%5cx', '/admin\\x', '/assets/../admin/x', '/assets/%2e%2e/admin',
    '/assets%2f..%2fadmin', '/admin%00', '/admin%252Fx', '///admin',
    '/admin./x', '/admin../x', '/admin%20/x', '/admin%EF%BC%8Fx', '/admin%E2%88%95x', '/%EF%BD%81dmin/x', '/ADMIN%2e/x',
  ])('%s is refused or matched by /admin/*', (raw) => {
    const n = normalizeRequestPath(raw);
    if (n.ok) expect(m.match(n.path, 'GET')).toBe(admin);
  });

  it('property: equivalent spellings of /admin/<tail> are refused or governed by /admin/*', () => {
    // Transformations that some server treats as "the same path".
    const sep = fc.constantFrom('/', '//', '/./', '/zz/../', '/%2e/', '/zz/%2e%2e/', '/%2F', '/\\', '/;p/', '/zz/..;/', '%EF%BC%8F', '/%E2%81%84', '%E2%88%95');
    const spelling = fc.tuple(
      fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      fc.constantFrom(-1, 0, 1, 2, 3, 4),
    ).map(([upper, encodeAt]) =>
      [...'admin']
        .map((c, i) => {
          const ch = upper[i] ? c.toUpperCase() : c;
          return i === encodeAt ? `%${ch.charCodeAt(0).toString(16)}` : ch;
        })
        .join(''),
    );
    const param = fc.constantFrom('', ';x', ';', ';jsessionid=1', '%3Bx', '.', '..', '%2e', '%20', '%C2%A0', '%EF%BC%8E', '.;x');
    const tail = fc.stringMatching(/^[a-z0-9]{0,6}$/);
    const query = fc.constantFrom('', '?x=/public', '#/assets/a', '?/../public');
    fc.assert(
      fc.property(sep, spelling, param, sep, tail, query, (s1, name, p, s2, t, q) => {
        const raw = `${s1}${name}${p}${s2}${t}${q}`;
        const n = normalizeRequestPath(raw);
        if (n.ok) expect(m.match(n.path, 'GET')).toBe(admin);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('authorize', () => {
  const user = (roles: string[], permissions: string[] = []) => ({ roles, permissions });
  const finance = ROUTES[5];
  it.each<[RouteConfig | undefined, ReturnType<typeof user> | null, string]>([
    [undefined, null, 'login'],
    [undefined, user([]), 'allow'],
    [ROUTES[0], null, 'public'],
    [ROUTES[0], user([]), 'public'],
    [admin, null, 'login'],
    [admin, user(['viewer']), 'deny'],
    [admin, user(['admin']), 'allow'],
    [admin, user(['Admin']), 'deny'],
    [ROUTES[3], user(['admin'], ['api:write']), 'allow'],
    [ROUTES[3], user(['admin'], ['api:read']), 'deny'],
    [finance, user(['finance', 'viewer', 'employee'], ['fin:read']), 'allow'],
    [finance, user(['finance', 'viewer'], ['fin:read']), 'deny'],
    [finance, user(['viewer', 'employee'], ['fin:read']), 'deny'],
    [finance, user(['finance', 'viewer', 'employee'], []), 'deny'],
    [{ path: '/x' }, user([]), 'allow'],
    [{ path: '/x' }, null, 'login'],
    [{ path: '/x', public: false }, null, 'login'],
    [{ path: '/x', anyRole: [] }, user(['admin']), 'deny'],
    [{ path: '/x', anyPermission: [] }, user([], ['p']), 'deny'],
    [{ path: '/x', allRoles: [] }, user([]), 'allow'],
  ])('%p with %p -> %s', (rule, u, expected) => {
    expect(authorize(rule, u)).toBe(expected);
  });
});
