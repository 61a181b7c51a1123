import { describe, it, expect } from '@jest/globals';
import { parseConfigObject } from '../../src/core/config/load.js';
import { configWarnings } from '../../src/core/config/warnings.js';

const TID = '11111111-2222-3333-4444-555555555555';
const KEY = { kty: 'RSA', n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw', e: 'AQAB', kid: 'k1', alg: 'RS256' };

const withGraph = (graph: Record<string, unknown>) =>
  parseConfigObject(
    {
      publicUrl: 'https://bi.example.com',
      session: { secret: 'x'.repeat(40) },
      upstream: { url: 'http://app.internal:3000' },
      provisioning: { api: { allowedRoles: [] } },
      issuers: [
        {
          id: 'entra',
          preset: 'entra',
          issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
          audiences: ['api://bi'],
          keys: [KEY],
          mapping: 'corp',
          entra: { tenants: [TID], graph: { clientId: 'app', clientSecret: 's', ...graph } },
        },
      ],
      mappings: { corp: { user: { usercode: 'preferred_username' }, roles: [{ from: 'groups', map: { Analysts: 'analyst' } }] } },
    },
    {},
  );

describe('configWarnings', () => {
  it('warns when Graph gives group names only to overage users (groupField displayName without always)', () => {
    expect(configWarnings(withGraph({ groupField: 'displayName' }))).toEqual([
      expect.stringMatching(/^warning: issuers\[0\]\.entra\.graph\.groupField: displayName without always: true gives group names only to users whose token left its groups out/),
    ]);
    expect(configWarnings(withGraph({ groupField: 'displayName', always: true }))).toEqual([]);
    expect(configWarnings(withGraph({}))).toEqual([]);
  });
});
