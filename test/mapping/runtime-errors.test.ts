import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { evaluateMapping, type MappingInput } from '../../src/core/mapping/index.js';
import { allowed, compile, traceAt } from './fixtures.js';

/** Passes the compiler (known function, right arity) but fails at every evaluation: length() of a number. */
const BAD = 'length(`5`)';
const TYPE_ERROR = /^length\(`5`\).*: Invalid type: length\(\) expected argument 1 to be type \(string \| array \| object\) but received type number/;

describe('runtime errors in expressions', () => {
  it('match: the login is denied and the error traced', () => {
    const outcome = evaluateMapping(compile({ match: `${BAD} == \`1\`` }), { sub: 'u' });
    expect(outcome).toMatchObject({ allowed: false, code: 'login_denied', rule: 'match' });
    expect(traceAt(outcome, 'match')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(TYPE_ERROR) });
  });

  it('require: the login is denied with the rule message', () => {
    const outcome = evaluateMapping(compile({ require: [{ expr: '`true`' }, { expr: BAD, message: 'No.' }] }), { sub: 'u' });
    expect(outcome).toMatchObject({ allowed: false, code: 'login_denied', rule: 'require[1]', message: 'No.' });
    expect(traceAt(outcome, 'require[0]').outcome).toBe('allowed');
    expect(traceAt(outcome, 'require[1]')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(TYPE_ERROR) });
  });

  it('usercode: usercode_missing', () => {
    const outcome = evaluateMapping(compile({ user: { usercode: BAD } }), { sub: 'u' });
    expect(outcome).toMatchObject({ allowed: false, code: 'usercode_missing', rule: 'user.usercode' });
    expect(traceAt(outcome, 'user.usercode').outcome).toBe('error');
  });

  it('a profile field: that field is left empty, the others are set', () => {
    const user = allowed(compile({ user: { usercode: 'sub', email: BAD, lastName: 'ln' } }), { sub: 'u', ln: 'Doe' });
    expect(user.profile).toEqual({ lastName: 'Doe' });
    expect(traceAt(user, 'user.email')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(TYPE_ERROR) });
  });

  it.each<[string, MappingInput['roles']]>([
    ['when', [{ when: BAD, add: ['x'] }]],
    ['map from', [{ from: BAD, map: { '1': 'x' } }]],
    ['pattern from', [{ from: BAD, pattern: '.' }]],
  ])('a %s rule adds nothing; later rules still run', (_form, rules) => {
    const m = compile({ roles: [...rules!, { when: '`true`', add: ['ok'] }], permissions: rules });
    const user = allowed(m, { sub: 'u' });
    expect(user.roles).toEqual(['ok']);
    expect(user.permissions).toEqual([]);
    expect(traceAt(user, 'roles[0]')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(TYPE_ERROR) });
    expect(traceAt(user, 'permissions[0]').outcome).toBe('error');
  });

  it('an attribute: empty list (restricts to nothing)', () => {
    const user = allowed(compile({ attributes: { region: BAD, ok: 'r' } }), { sub: 'u', r: 'eu' });
    expect(user.attributes).toEqual({ region: [], ok: ['eu'] });
    expect(traceAt(user, 'attributes.region').outcome).toBe('error');
  });

  it.each([
    ['a string where an array of strings is expected', "join(',', groups)", { groups: 'a' }],
    ['an object in sort()', 'sort(groups)', { groups: [{}, 1] }],
    ['avg() of strings', 'avg(groups)', { groups: ['a'] }],
  ])('errors depending on the claims: %s', (_name, expr, claims) => {
    const user = allowed(compile({ user: { usercode: 'sub', displayName: expr } }), { sub: 'u', ...claims });
    expect(user.profile.displayName).toBeUndefined();
    expect(traceAt(user, 'user.displayName').outcome).toBe('error');
  });
});

describe('any claims input', () => {
  const m = compile({
    match: 'type(@) == \'object\'',
    require: [{ expr: '!contains(keys(@), \'deny\')' }],
    user: { usercode: 'sub', email: 'email', tags: 'tags', displayName: 'to_string(a)', firstName: 'sort(a)[0]' },
    roles: [
      { from: 'a', map: { x: 'x' }, ignoreCase: true },
      { from: 'b[*]', pattern: '^(?<n>[a-z]+)', to: '$<n>-$1-$&' },
      { when: 'length(a) > `1`', add: ['many'] },
      { when: 'max_by(a, &n).n', add: ['max'] },
      { default: ['viewer'] },
    ],
    attributes: { a: 'a', b: 'merge(c, `{}`)' },
  });

  it('never throws and always returns an outcome with a trace', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('sub', 'email', 'tags', 'a', 'b', 'c', 'deny', 'x'), fc.jsonValue()), (claims) => {
        const outcome = evaluateMapping(m, claims);
        expect(typeof outcome.allowed).toBe('boolean');
        expect(outcome.trace.length).toBeGreaterThan(0);
        if (outcome.allowed) {
          expect(outcome.user.usercode.trim()).toBe(outcome.user.usercode);
          expect(outcome.user.roles.every((r) => typeof r === 'string' && r.length > 0)).toBe(true);
          expect(new Set(outcome.user.roles).size).toBe(outcome.user.roles.length);
          for (const values of Object.values(outcome.user.attributes)) expect(values.every((v) => typeof v === 'string')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it.each([null, [], 'str', 42])('survives a non-object claims value (%p)', (claims) => {
    const outcome = evaluateMapping(m, claims as never);
    expect(outcome).toMatchObject({ allowed: false, rule: 'match' });
  });

  it('survives claims that are deeply nested', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const outcome = evaluateMapping(compile({ user: { usercode: 'sub', displayName: 'to_string(d)' } }), { sub: 'u', d: deep });
    expect(outcome.allowed).toBe(true);
    if (outcome.allowed) expect(traceAt(outcome, 'user.displayName').outcome).toBe('error');
  });
});

describe('e-mail claims', () => {
  it('an address with several "@" (or spaces) is not stored as the e-mail', () => {
    const m = compile({ user: { usercode: 'sub', email: 'email' } });
    for (const bad of ['ada@evil.example@corp.example', 'ada @corp.example', 'no-at-sign', '@corp.example', 'ada@']) {
      const out = allowed(m, { sub: 's', email: bad });
      expect(out.profile.email).toBeUndefined();
      expect(traceAt(out, 'user.email').outcome).toBe('error');
    }
    expect(allowed(m, { sub: 's', email: 'ada.lovelace+bi@corp.example' }).profile.email).toBe('ada.lovelace+bi@corp.example');
  });
});
