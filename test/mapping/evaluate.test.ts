import { describe, it, expect } from '@jest/globals';
import { evaluateMapping, SYNC_MODES, MAPPABLE_USER_FIELDS, type MappingInput } from '../../src/core/mapping/index.js';
import { allowed, compile, traceAt } from './fixtures.js';

const corp: MappingInput = {
  match: "tenant == 'acme'",
  require: [{ expr: 'email_verified == `true`', message: 'Your e-mail address is not verified' }, { expr: "!contains(groups || `[]`, 'blocked')" }],
  user: {
    usercode: 'preferred_username || sub',
    email: 'email',
    displayName: 'name',
    firstName: 'given_name',
    lastName: 'family_name',
    idpUsername: 'onprem_sam',
    tags: 'groups',
  },
  roles: [{ from: 'groups', map: { 'bi-admins': 'admin' } }, { default: ['viewer'] }],
  attributes: { region: 'regions', level: 'clearance', none: 'missing' },
  sync: { firstName: 'onCreate' },
};
const claims = {
  tenant: 'acme',
  sub: '00u1',
  preferred_username: '  jdoe  ',
  email_verified: true,
  email: 'jdoe@acme.example',
  name: 'J. Doe',
  given_name: 'Jane',
  family_name: 'Doe',
  onprem_sam: 42,
  groups: ['bi-admins', 'staff', 'staff'],
  regions: ['eu', 'us', 'eu'],
  clearance: 3,
};

describe('evaluateMapping', () => {
  it('produces the desired user of the contract example', () => {
    const outcome = evaluateMapping(compile(corp), claims);
    expect(outcome.allowed).toBe(true);
    if (!outcome.allowed) return;
    expect(outcome.user).toEqual({
      usercode: 'jdoe',
      profile: {
        email: 'jdoe@acme.example',
        displayName: 'J. Doe',
        firstName: 'Jane',
        lastName: 'Doe',
        idpUsername: '42',
        tags: ['bi-admins', 'staff'],
      },
      sync: { firstName: 'onCreate' },
      roles: ['admin'],
      permissions: [],
      attributes: { region: ['eu', 'us'], level: ['3'], none: [] },
    });
    expect(outcome.trace.map((e) => e.path)).toEqual([
      'match', 'require[0]', 'require[1]', 'user.usercode', 'user.email', 'user.displayName', 'user.firstName',
      'user.lastName', 'user.idpUsername', 'user.tags', 'roles[0]', 'roles[1]',
      'attributes.region', 'attributes.level', 'attributes.none',
    ]);
  });

  it('does not modify the claims', () => {
    const input = structuredClone(claims);
    evaluateMapping(compile(corp), input);
    expect(input).toEqual(claims);
  });

  it.each([
    ['another tenant', { tenant: 'other' }],
    ['no tenant', { tenant: undefined }],
  ])('denies with login_denied at match: %s', (_name, change) => {
    const outcome = evaluateMapping(compile(corp), { ...claims, ...change });
    expect(outcome).toMatchObject({ allowed: false, code: 'login_denied', rule: 'match' });
    expect(outcome.trace).toEqual([expect.objectContaining({ path: 'match', outcome: 'denied' })]);
  });

  it('requires match to be exactly true, not merely truthy', () => {
    const m = compile({ match: 'tenant' });
    expect(evaluateMapping(m, { sub: 'u', tenant: 'acme' })).toMatchObject({ allowed: false, rule: 'match' });
    expect(evaluateMapping(compile({ match: '!!tenant' }), { sub: 'u', tenant: 'acme' }).allowed).toBe(true);
  });

  it('requires each require to yield exactly true, not merely truthy', () => {
    const m = compile({ require: [{ expr: 'email_verified', message: 'Unverified' }] });
    expect(evaluateMapping(m, { sub: 'u', email_verified: 'false' })).toMatchObject({ allowed: false, rule: 'require[0]', message: 'Unverified' });
    expect(evaluateMapping(m, { sub: 'u', email_verified: 1 })).toMatchObject({ allowed: false, rule: 'require[0]' });
    expect(evaluateMapping(m, { sub: 'u', email_verified: true }).allowed).toBe(true);
  });

  it.each([
    ['not verified', { email_verified: false }, 'require[0]', 'Your e-mail address is not verified'],
    ['verified as the string "true"', { email_verified: 'true' }, 'require[0]', 'Your e-mail address is not verified'],
    ['blocked (no message: the default one)', { groups: ['blocked'] }, 'require[1]', 'Sign-in refused by the mapping rule require[1]'],
  ])('denies at require: %s', (_name, change, rule, message) => {
    const outcome = evaluateMapping(compile(corp), { ...claims, ...change });
    expect(outcome).toMatchObject({ allowed: false, code: 'login_denied', rule, message });
    expect(traceAt(outcome, rule)).toMatchObject({ outcome: 'denied', detail: message });
  });

  it.each([
    ['absent', { sub: undefined, preferred_username: undefined }, 'empty'],
    ['blank', { sub: undefined, preferred_username: '   ' }, 'empty'],
    ['an object', { preferred_username: { a: 1 } }, 'error'],
    ['an array', { preferred_username: ['a'] }, 'error'],
    ['a boolean', { preferred_username: true }, 'error'],
    ['longer than 256 characters', { preferred_username: 'x'.repeat(257) }, 'error'],
  ])('denies with usercode_missing when usercode is %s', (_name, change, traced) => {
    const outcome = evaluateMapping(compile(corp), { ...claims, ...change });
    expect(outcome).toMatchObject({ allowed: false, code: 'usercode_missing', rule: 'user.usercode' });
    expect(traceAt(outcome, 'user.usercode').outcome).toBe(traced);
  });

  it('accepts a numeric usercode as text and one of exactly 256 characters', () => {
    expect(allowed(compile({ user: { usercode: 'id' } }), { id: 1234 }).usercode).toBe('1234');
    expect(allowed(compile({ user: { usercode: 'id' } }), { id: 'x'.repeat(256) }).usercode).toHaveLength(256);
  });

  it.each([
    ['a string, trimmed', '  Jane ', 'Jane'],
    ['a number', 7, '7'],
    ['a boolean', false, 'false'],
    ['null: absent', null, undefined],
    ['an empty string: absent', '', undefined],
  ])('sets a profile field from %s', (_name, value, expected) => {
    const user = allowed(compile({ user: { usercode: 'sub', firstName: 'v' } }), { sub: 'u', v: value });
    expect(user.profile.firstName).toBe(expected);
    expect('firstName' in user.profile).toBe(expected !== undefined);
  });

  it.each([
    ['an object', { a: 1 }, /got object/],
    ['an array', ['a'], /got array/],
  ])('treats %s in a scalar field as an error of that field only', (_name, value, detail) => {
    const user = allowed(compile({ user: { usercode: 'sub', email: 'v', displayName: 'n' } }), { sub: 'u', v: value, n: 'N' });
    expect(user.profile).toEqual({ displayName: 'N' });
    expect(traceAt(user, 'user.email')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(detail) });
  });

  it.each([
    ['a string', 'a', ['a']],
    ['an array, non-strings ignored, duplicates folded', ['a', 1, 'b', 'a'], ['a', 'b']],
    ['an empty array (clears the tags)', [], []],
    ['null: absent', null, undefined],
  ])('sets tags from %s', (_name, value, expected) => {
    const user = allowed(compile({ user: { usercode: 'sub', tags: 'v' } }), { sub: 'u', v: value });
    expect(user.profile.tags).toEqual(expected);
  });

  it('treats an object as tags as an error', () => {
    const user = allowed(compile({ user: { usercode: 'sub', tags: 'v' } }), { sub: 'u', v: { a: 'b' } });
    expect(user.profile.tags).toBeUndefined();
    expect(traceAt(user, 'user.tags').outcome).toBe('error');
  });

  it.each([
    ['a string', 'eu', ['eu']],
    ['strings, numbers and booleans', ['eu', 3, true], ['eu', '3', 'true']],
    ['null', null, []],
    ['an object (error: restricts to nothing)', { eu: true }, []],
  ])('reads attribute values from %s', (_name, value, expected) => {
    const user = allowed(compile({ attributes: { region: 'v' } }), { sub: 'u', v: value });
    expect(user.attributes).toEqual({ region: expected });
  });

  it.each(SYNC_MODES)('passes sync mode %s through for every profile field', (mode) => {
    const fields = MAPPABLE_USER_FIELDS.filter((f) => f !== 'usercode');
    const sync = Object.fromEntries(fields.map((f) => [f, mode]));
    const user = allowed(compile({ sync }), { sub: 'u' });
    expect(user.sync).toEqual(sync);
  });

  it('leaves sync empty when the mapping sets none, and never shares it between results', () => {
    const m = compile({ sync: { email: 'never' } });
    const a = allowed(m, { sub: 'u' });
    a.sync.email = 'always';
    expect(allowed(m, { sub: 'u' }).sync).toEqual({ email: 'never' });
    expect(allowed(compile({}), { sub: 'u' }).sync).toEqual({});
  });
});
