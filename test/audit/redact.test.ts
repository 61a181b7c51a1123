import { describe, it, expect } from '@jest/globals';
import { redact, MASK } from '../../src/observability/redact.js';

describe('redact', () => {
  it('masks secrets by key, token-shaped strings anywhere, and SCIM PATCH values aimed at a password', () => {
    const body = {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'replace', path: 'password', value: 'Hunter2-Secret!' },
        { op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:password', value: 'Other-Secret' },
        { op: 'replace', path: 'name.givenName', value: 'Ada' },
        { op: 'replace', value: { password: 'Nested-Secret', active: false } },
      ],
      client_secret: 'cgs_abc',
      note: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    };
    const out = JSON.stringify(redact(body));
    for (const secret of ['Hunter2-Secret!', 'Other-Secret', 'Nested-Secret', 'cgs_abc', 'eyJhbGciOiJSUzI1NiJ9']) expect(out).not.toContain(secret);
    expect(out).toContain('Ada');
    expect(out).toContain(MASK);
  });
});
