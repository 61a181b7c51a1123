/**
 * Property tests for the SCIM filter parser and its SQL compiler (src/features/scim/filter-parse.ts, filter-sql.ts): no input
 * crashes them, nothing the client wrote reaches the SQL text (every value is a bound parameter), and a bad filter
 * is always `400 invalidFilter`, over HTTP against the real database too.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseFilter } from '../../src/features/scim/filter-parse.js';
import { compileFilter } from '../../src/features/scim/filter-sql.js';
import { groupFilterScope, userFilterScope } from '../../src/features/scim/filter-scopes.js';
import { ScimError } from '../../src/features/scim/scim-error.js';
import { ENTERPRISE, USER, q, startScim, type ScimClient } from '../provisioning/scim-helpers.js';

/** Every client-chosen piece carries this marker, so its appearance in SQL text is detectable. */
const MARK = 'zqx';
const ATTRS = [
  'userName', 'id', 'externalId', 'displayName', 'active', 'title', 'nickName', 'userType', 'locale',
  'name.givenName', 'name.familyName', 'name.formatted', 'emails', 'emails.value', 'emails.type', 'emails.primary',
  'phoneNumbers.value', 'addresses.locality', 'addresses.primary', 'groups', 'groups.value', 'groups.display',
  'meta.created', 'meta.lastModified', 'meta.resourceType', 'password', 'members.value', 'members.display',
  `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:manager`, `${ENTERPRISE}:manager.value`, `${ENTERPRISE}:department`,
  'urn:ietf:params:scim:schemas:core:2.0:User:userName', 'urn:ietf:params:scim:schemas:core:2.0:User:name.givenName',
];
const attr = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ATTRS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_$:.-]{0,20}$/).map((s) => `${MARK}${s}`) },
  { weight: 1, arbitrary: fc.constantFrom(...ATTRS).map((a) => `${a}.${MARK}`) },
);
const op = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Sw', 'xx');
const payload = fc.constantFrom(`'; DROP TABLE users; --`, `' OR '1'='1`, '\\', '%', '_', '$1', '?', '::text', ') OR (1=1', 'true', '2026-01-01T00:00:00Z', '');
const stringValue = fc
  .tuple(payload, fc.string({ maxLength: 8 }))
  .map(([p, s]) => JSON.stringify(`${MARK}${p}${s}`));
const value = fc.oneof(
  { weight: 4, arbitrary: stringValue },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '42', '-1.5', '"2026-01-01T00:00:00Z"', '"true"') },
);
const leaf = fc.oneof(
  fc.tuple(attr, op, value).map(([a, o, v]) => `${a} ${o} ${v}`),
  attr.map((a) => `${a} pr`),
);
const filterText: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([a, c, b]) => `${a} ${c} ${b}`),
    tie('f').map((f) => `not (${f})`),
    tie('f').map((f) => `(${f})`),
    fc.tuple(attr, tie('f'), fc.option(fc.constantFrom('value', 'display', 'type', MARK))).map(([a, f, sub]) => `${a}[${f}]${sub ? `.${sub} eq "${MARK}"` : ''}`),
  ),
})).f;
/** Filters with a random character dropped, doubled or inserted: mostly broken ones. */
const mangled = fc.tuple(filterText, fc.nat(), fc.constantFrom('', '(', ')', '[', ']', '"', ' ', '\\', 'not', '.', ':')).map(([f, i, c]) => {
  const at = f.length ? i % f.length : 0;
  return f.slice(0, at) + c + f.slice(at + (c === '' ? 1 : 0));
});
const anything = fc.oneof(filterText, mangled, fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));

function compileOrError(text: string, scope: 'user' | 'group') {
  try {
    return { compiled: compileFilter(parseFilter(text), scope === 'user' ? userFilterScope() : groupFilterScope()) };
  } catch (e) {
    return { error: e };
  }
}

describe('SCIM filter parser and compiler: properties', () => {
  it('never throws anything but 400 invalidFilter, whatever the input', () => {
    fc.assert(
      fc.property(anything, fc.constantFrom('user' as const, 'group' as const), (text, scope) => {
        const { error } = compileOrError(text, scope);
        if (error === undefined) return;
        expect(error).toBeInstanceOf(ScimError);
        expect({ status: (error as ScimError).status, scimType: (error as ScimError).scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
      }),
      { numRuns: 3000 },
    );
  });

  it('no client-written text reaches the SQL: values are bound parameters, one per placeholder', () => {
    let compiledSome = 0;
    fc.assert(
      fc.property(filterText, fc.constantFrom('user' as const, 'group' as const), (text, scope) => {
        const { compiled } = compileOrError(text, scope);
        if (!compiled) return;
        compiledSome++;
        expect(compiled.sql.toLowerCase()).not.toContain(MARK);
        expect(compiled.sql.split('?').length - 1).toBe(compiled.bindings.length);
        // Quotes in the SQL come only from the compiler's own literals, never from a value.
        expect(compiled.sql).not.toMatch(/DROP|OR '1'|1=1/i);
        for (const b of compiled.bindings) expect(['string', 'boolean']).toContain(typeof b);
      }),
      { numRuns: 3000 },
    );
    expect(compiledSome).toBeGreaterThan(100);
  });
});

describe(`SCIM filters over HTTP (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await startScim();
    // Users and groups whose stored attributes are odd, so every compiled condition runs against real rows.
    for (const [i, extra] of [
      {},
      { title: 'true', nickName: '2026-01-01T00:00:00Z', [ENTERPRISE]: { employeeNumber: '1', manager: { value: 'x' } } },
      { emails: [{ value: 'zqx@example.test', type: 'work', primary: true }], addresses: [{ locality: 'Oslo', primary: true }], phoneNumbers: [{ value: '42' }] },
    ].entries()) {
      const r = await c.scim('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: `prop${i}`, active: i !== 1, ...extra });
      expect(r.status).toBe(201);
    }
    expect((await c.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G zqx' })).status).toBe(201);
  });
  afterAll(async () => {
    await c?.gw.close();
  });

  it('any filter answers 200 with a list, or 400 invalidFilter — never 500, never a SQL error', async () => {
    const usersBefore = Number(((await c.gw.db.knex('users').count({ n: '*' }).first()) as { n: string | number }).n);
    await fc.assert(
      fc.asyncProperty(fc.oneof(filterText, mangled), fc.constantFrom('/Users', '/Groups'), async (text, resource) => {
        const r = await c.scim('GET', `${resource}?${q(text)}`);
        if (r.status === 200) {
          expect(Array.isArray(r.json().Resources)).toBe(true);
          return;
        }
        expect({ status: r.status, scimType: r.json().scimType, text }).toEqual({ status: 400, scimType: 'invalidFilter', text });
      }),
      { numRuns: 150 },
    );
    const usersAfter = Number(((await c.gw.db.knex('users').count({ n: '*' }).first()) as { n: string | number }).n);
    expect(usersAfter).toBe(usersBefore);
    // The gateway logged no failed request along the way.
    expect(c.gw.logs.filter((l) => /"level":"error"/.test(l))).toEqual([]);
  });

  it('listed bad filters are 400 invalidFilter', async () => {
    for (const bad of ['userName eq', 'userName xx "a"', '((userName eq "a")', 'emails[type eq "work"', 'zqx eq "a"', 'password eq "x"', 'active eq "maybe"', 'meta.created gt "yesterday"', 'userName eq "a" and']) {
      const r = await c.scim('GET', `/Users?${q(bad)}`);
      expect({ bad, status: r.status, scimType: r.json().scimType }).toEqual({ bad, status: 400, scimType: 'invalidFilter' });
    }
  });
});
