import type { DesiredUser } from '../../src/core/mapping/types.js';
import type { LoginSyncInput } from '../../src/store/users/index.js';

export const CORP = { issuerId: 'corp', iss: 'https://idp.corp.example', source: 'mapping:corp' };
export const PARTNER = { issuerId: 'partner', iss: 'https://idp.partner.example', source: 'mapping:partner' };

/** A desired user as a mapping would produce it. */
export function desired(over: Partial<DesiredUser> = {}): DesiredUser {
  return {
    usercode: 'alice',
    profile: { email: 'alice@example.com', displayName: 'Alice Example', firstName: 'Alice', lastName: 'Example' },
    sync: {},
    roles: ['analyst'],
    permissions: ['export'],
    attributes: { region: ['EU'] },
    ...over,
  };
}

/** A login of `sub` at the corp issuer (override anything). */
export function login(sub: string, d: DesiredUser, over: Partial<LoginSyncInput> = {}): LoginSyncInput {
  return { ...CORP, sub, desired: d, createUsers: true, linkExistingUsers: false, ...over };
}
