import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  isClaimgateHeader,
  makeHeaderFilter,
  stripIdentityHeaders,
  buildIdentityHeaders,
  encodeHeaderValue,
} from '../../src/web/identity-headers.js';

const NAMES = {
  user: 'X-Claimgate-User',
  userId: 'X-Claimgate-User-Id',
  email: 'X-Claimgate-Email',
  name: 'X-Claimgate-Name',
  roles: 'X-Claimgate-Roles',
  permissions: 'X-Claimgate-Permissions',
  assertion: 'X-Claimgate-Assertion',
};
const ASSERTION = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln';

describe('isClaimgateHeader', () => {
  it.each([
    'x-claimgate-user', 'X-Claimgate-User', 'X_CLAIMGATE_USER', 'x-claimgate_user', 'X-ClaimGate-Roles',
    'x_claimgate-permissions', 'X.Claimgate.User', 'x-claimgate', 'X-CLAIMGATE-ANYTHING-NEW', 'x-claimgate-',
  ])('%s is an identity header', (name) => {
    expect(isClaimgateHeader(name)).toBe(true);
  });
  it.each(['x-claimgatex', 'claimgate-user', 'x-forwarded-user', 'cookie', 'authorization', 'x-claim-gate-user', ''])(
    '%s is not',
    (name) => {
      expect(isClaimgateHeader(name)).toBe(false);
    },
  );
});

describe('makeHeaderFilter', () => {
  const filter = makeHeaderFilter(['Remote-User', 'X-Auth-Roles', ...Object.values(NAMES)]);
  it.each(['remote-user', 'REMOTE_USER', 'Remote_User', 'x-auth-roles', 'X_AUTH_ROLES', 'x-claimgate-user', 'X_ClaimGate_Email'])(
    'drops %s',
    (name) => {
      expect(filter(name)).toBe(true);
    },
  );
  it.each(['remote-userx', 'x-auth-role', 'accept', 'x-forwarded-for'])('keeps %s', (name) => {
    expect(filter(name)).toBe(false);
  });

  /** Every case / underscore spelling of a name. */
  const variant = (name: string) =>
    fc
      .array(fc.boolean(), { minLength: name.length * 2, maxLength: name.length * 2 })
      .map((flags) =>
        [...name]
          .map((ch, i) => {
            const c = flags[2 * i] ? ch.toUpperCase() : ch.toLowerCase();
            return c === '-' && flags[2 * i + 1] ? '_' : c;
          })
          .join(''),
      );

  it('drops every case/underscore variant of each configured name', () => {
    const configured = ['Remote-User', 'X-Auth-Roles', 'X-Webauth-Email', ...Object.values(NAMES)];
    const f = makeHeaderFilter(configured);
    fc.assert(
      fc.property(fc.constantFrom(...configured).chain(variant), (name) => {
        expect(f(name)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('drops every variant of any X-Claimgate-* name', () => {
    const suffix = fc.stringMatching(/^[A-Za-z0-9]{1,10}(-[A-Za-z0-9]{1,10}){0,2}$/);
    fc.assert(
      fc.property(suffix.chain((s) => variant(`X-Claimgate-${s}`)), (name) => {
        expect(makeHeaderFilter([])(name)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('stripIdentityHeaders', () => {
  it('returns a new object without identity headers', () => {
    const headers = {
      host: 'bi.example.com',
      'x-claimgate-user': 'admin',
      x_claimgate_roles: 'admin',
      'remote-user': 'admin',
      accept: 'text/html',
      cookie: ['a=1'],
    };
    const out = stripIdentityHeaders(headers, makeHeaderFilter(['Remote-User']));
    expect(out).toEqual({ host: 'bi.example.com', accept: 'text/html', cookie: ['a=1'] });
    expect(headers['x-claimgate-user']).toBe('admin'); // input untouched
  });

  it('defaults to the X-Claimgate-* filter', () => {
    expect(stripIdentityHeaders({ 'X-CLAIMGATE-USER': 'a', 'remote-user': 'b' })).toEqual({ 'remote-user': 'b' });
  });

  it('keeps a header literally named __proto__ as a plain key', () => {
    const input = JSON.parse('{"__proto__": "x", "a": "1"}') as Record<string, string>;
    const out = stripIdentityHeaders(input);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
  });

  it('filters rawHeaders pairs', () => {
    const raw = ['Host', 'bi', 'X-Claimgate-User', 'admin', 'Accept', '*/*', 'x_claimgate_roles', 'admin', 'X-Claimgate-User', 'again'];
    const copy = [...raw];
    expect(stripIdentityHeaders(raw)).toEqual(['Host', 'bi', 'Accept', '*/*']);
    expect(raw).toEqual(copy);
  });
});

describe('buildIdentityHeaders', () => {
  const base = {
    userId: '01HZX5Q9ZJ4M3ZC6W6K3N5Y2AB',
    usercode: 'alice',
    email: 'alice@example.com',
    displayName: 'Zoë O’Brien',
    roles: ['admin', 'viewer'],
    permissions: ['reports:read'],
  };

  it('builds the contract headers', () => {
    expect(buildIdentityHeaders(base, NAMES, ASSERTION)).toEqual({
      'x-claimgate-user': 'alice',
      'x-claimgate-user-id': '01HZX5Q9ZJ4M3ZC6W6K3N5Y2AB',
      'x-claimgate-email': 'alice@example.com',
      'x-claimgate-name': 'Zo%C3%AB%20O%E2%80%99Brien',
      'x-claimgate-roles': 'admin,viewer',
      'x-claimgate-permissions': 'reports%3Aread',
      'x-claimgate-assertion': ASSERTION,
    });
  });

  it('percent-encodes each role so a comma cannot forge an extra role', () => {
    const h = buildIdentityHeaders({ ...base, roles: ['viewer,admin', 'a b'] }, NAMES, ASSERTION);
    expect(h['x-claimgate-roles']).toBe('viewer%2Cadmin,a%20b');
    expect(h['x-claimgate-roles']!.split(',').map(decodeURIComponent)).toEqual(['viewer,admin', 'a b']);
  });

  it('encodes usercode/email only when they hold non-visible-ASCII or "%"', () => {
    const h = buildIdentityHeaders({ ...base, usercode: 'jürgen smith', email: 'a%40b@example.com' }, NAMES, ASSERTION);
    expect(h['x-claimgate-user']).toBe('j%C3%BCrgen%20smith');
    expect(h['x-claimgate-email']).toBe('a%2540b%40example.com');
    expect(encodeHeaderValue('admin%40corp')).not.toBe('admin%40corp');
    expect(decodeURIComponent(encodeHeaderValue('admin%40corp'))).toBe('admin%40corp');
  });

  it('never emits CR/LF or control characters (header injection)', () => {
    const evil = 'x\r\nX-Claimgate-Roles: admin\u0000';
    const h = buildIdentityHeaders(
      { ...base, usercode: evil, email: evil, displayName: evil, roles: [evil], permissions: [evil] },
      NAMES,
      ASSERTION,
    );
    for (const v of Object.values(h)) expect(/[^\x20-\x7e]/.test(v)).toBe(false);
  });

  it('omits an empty email and display name; sends empty role lists explicitly', () => {
    const h = buildIdentityHeaders({ ...base, email: null, displayName: '', roles: [], permissions: [] }, NAMES, ASSERTION);
    expect(h).not.toHaveProperty('x-claimgate-email');
    expect(h).not.toHaveProperty('x-claimgate-name');
    expect(h['x-claimgate-roles']).toBe('');
    expect(h['x-claimgate-permissions']).toBe('');
  });

  it('uses configured header names', () => {
    const h = buildIdentityHeaders(base, { ...NAMES, user: 'Remote-User' }, ASSERTION);
    expect(h['remote-user']).toBe('alice');
  });

  it('refuses an assertion that is not a compact JWS', () => {
    expect(() => buildIdentityHeaders(base, NAMES, 'a.b.c\r\nx: y')).toThrow();
    expect(() => buildIdentityHeaders(base, NAMES, 'not a jws')).toThrow();
  });

  it('never throws and round-trips for arbitrary unicode (lone surrogates become U+FFFD)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (s, roles) => {
        const h = buildIdentityHeaders({ ...base, usercode: s || 'u', displayName: s, roles }, NAMES, ASSERTION);
        for (const v of Object.values(h)) expect(/[^\x20-\x7e]/.test(v)).toBe(false);
        const decoded = h['x-claimgate-roles'] === '' ? [] : h['x-claimgate-roles']!.split(',').map(decodeURIComponent);
        expect(decoded).toHaveLength(roles.filter((r) => r !== '').length);
      }),
    );
  });
});
