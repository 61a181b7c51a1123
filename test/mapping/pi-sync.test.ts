import { describe, it, expect } from '@jest/globals';
import { evaluateMapping } from '../../src/core/mapping/index.js';
import { allowed, compile, traceAt } from './fixtures.js';

const CLAIM = 'https://www.panintelligence.com/claims/userSyncPayload';
const P = `"${CLAIM}"[0]`;

/** A token's claims carrying the analytics vendor's user-sync payload (docs/mapping-language.md#example-a-namespaced-claim-panintelligence-style-user-sync-payload). */
const claims = {
  iss: 'https://idp.example.com',
  sub: '00u1',
  'https://www.panintelligence.com/claims/usercode': 'JWTAUTH',
  [CLAIM]: [
    {
      user: {
        usercode: 'JWTAUTH',
        forenames: 'Jwt',
        surname: 'Auth',
        email: 'jwt@auth.com',
        readableUserCode: 'Jwtauth',
        orgIdentifier: 'Dashboard',
        userExpirationDate: null,
        allowExternalLogin: true,
        superAdmin: false,
        editCharts: true,
        exportToCsv: true,
      },
      variables: [{ name: 'fiscalYear', value: '2024' }],
      restrictions: [{ name: 'region-eu' }, 'region-us'],
      userRoles: ['Analyst', { name: 'Designer' }, { id: 7, name: 'Analyst' }],
      userCategories: [{ name: 'Finance' }, { name: 'Sales' }],
    },
  ],
};

describe('Panintelligence-style user-sync payload', () => {
  const m = compile({
    match: `type(${P}.user) == 'object'`,
    require: [{ expr: `${P}.user.allowExternalLogin == \`true\``, message: 'External login is disabled for this account' }],
    user: {
      usercode: `${P}.user.usercode || "https://www.panintelligence.com/claims/usercode"`,
      firstName: `${P}.user.forenames`,
      lastName: `${P}.user.surname`,
      email: `${P}.user.email`,
      displayName: `${P}.user.readableUserCode`,
    },
    roles: [
      // Items may be strings or objects with a name: take both.
      { from: `${P}.userRoles[?type(@) == 'string']`, map: { Analyst: 'analyst', Designer: 'designer' } },
      { from: `${P}.userRoles[*].name`, map: { Analyst: 'analyst', Designer: 'designer' } },
      { default: ['viewer'] },
    ],
    permissions: [
      { when: `${P}.user.editCharts`, add: ['editCharts'] },
      { when: `${P}.user.exportToCsv`, add: ['exportToCsv'] },
      { when: `${P}.user.superAdmin`, add: ['superAdmin'] },
    ],
    attributes: {
      categories: `${P}.userCategories[*].name`,
      restrictions: `${P}.restrictions[*].not_null(name, @)`,
      orgIdentifier: `${P}.user.orgIdentifier`,
    },
  });

  it('maps the quoted namespaced claim to a user, roles, permissions and attributes', () => {
    const user = allowed(m, claims);
    expect(user.usercode).toBe('JWTAUTH');
    expect(user.profile).toEqual({ firstName: 'Jwt', lastName: 'Auth', email: 'jwt@auth.com', displayName: 'Jwtauth' });
    expect(user.roles).toEqual(['analyst', 'designer']);
    expect(user.permissions).toEqual(['editCharts', 'exportToCsv']);
    expect(user.attributes).toEqual({ categories: ['Finance', 'Sales'], restrictions: ['region-eu', 'region-us'], orgIdentifier: ['Dashboard'] });
  });

  it('explains why a plain [] projection over objects gives no roles', () => {
    const naive = compile({ roles: [{ from: `${P}.userRoles[]`, map: { Analyst: 'analyst', Designer: 'designer' } }] });
    const user = allowed(naive, claims);
    expect(user.roles).toEqual(['analyst']);
    expect(traceAt(user, 'roles[0]').detail).toMatch(/ignored 2 value\(s\).*\[\*\]\.name/);
  });

  it('is denied with the rule message when the payload disallows external login', () => {
    const payload = structuredClone(claims[CLAIM]);
    payload[0]!.user.allowExternalLogin = false;
    expect(evaluateMapping(m, { ...claims, [CLAIM]: payload })).toMatchObject({
      allowed: false,
      code: 'login_denied',
      rule: 'require[0]',
      message: 'External login is disabled for this account',
    });
  });

  it('falls back to the login claim and the default role when the payload is absent', () => {
    const m2 = compile({
      user: { usercode: `${P}.user.usercode || "https://www.panintelligence.com/claims/usercode"` },
      roles: [{ from: `${P}.userRoles[*].name`, map: { Analyst: 'analyst' } }, { default: ['viewer'] }],
    });
    const { [CLAIM]: _omitted, ...rest } = claims;
    const user = allowed(m2, rest);
    expect(user.usercode).toBe('JWTAUTH');
    expect(user.roles).toEqual(['viewer']);
  });
});
