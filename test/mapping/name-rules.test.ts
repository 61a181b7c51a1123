import { describe, it, expect } from '@jest/globals';
import type { MappingInput } from '../../src/core/mapping/index.js';
import { allowed, compile, traceAt } from './fixtures.js';

type Rules = MappingInput['roles'];
const groups = ['bi-admins', 'bi-role-sales', 'bi-role-ops', 'finance', 'Staff'];

describe('role and permission rules', () => {
  const rows: { name: string; rules: Rules; claims: Record<string, unknown>; roles: string[] }[] = [
    {
      name: 'map: exact values, several names for one value, unlisted values ignored',
      rules: [{ from: 'groups', map: { 'bi-admins': ['admin', 'editor'], finance: 'finance_viewer', nope: 'x' } }],
      claims: { groups },
      roles: ['admin', 'editor', 'finance_viewer'],
    },
    {
      name: 'map: a single string claim',
      rules: [{ from: 'group', map: { 'bi-admins': 'admin' } }],
      claims: { group: 'bi-admins' },
      roles: ['admin'],
    },
    {
      name: 'map: case-sensitive by default',
      rules: [{ from: 'groups', map: { staff: 'staff' } }],
      claims: { groups },
      roles: [],
    },
    {
      name: 'map: ignoreCase',
      rules: [{ from: 'groups', map: { STAFF: 'staff', 'BI-Admins': 'admin' }, ignoreCase: true }],
      claims: { groups },
      roles: ['admin', 'staff'],
    },
    {
      name: 'map: a value named like an Object.prototype member maps to nothing',
      rules: [{ from: 'groups', map: { a: 'x' } }],
      claims: { groups: ['constructor', '__proto__', 'toString'] },
      roles: [],
    },
    {
      name: 'pattern: numbered group, one rule yields several roles',
      rules: [{ from: 'groups', pattern: '^bi-role-(.+)$', to: '$1' }],
      claims: { groups },
      roles: ['sales', 'ops'],
    },
    {
      name: 'pattern: named group and several templates per match',
      rules: [{ from: 'groups', pattern: '^bi-role-(?<team>.+)$', to: ['team-$<team>', '$<team>_viewer'] }],
      claims: { groups },
      roles: ['team-sales', 'sales_viewer', 'team-ops', 'ops_viewer'],
    },
    {
      name: 'pattern: without to, the whole match',
      rules: [{ from: 'groups', pattern: 'role-[a-z]+' }],
      claims: { groups },
      roles: ['role-sales', 'role-ops'],
    },
    {
      name: 'pattern: $& and $$',
      rules: [{ from: 'groups', pattern: 'sales', to: '$&$$' }],
      claims: { groups },
      roles: ['sales$'],
    },
    {
      name: 'pattern: a template expanding to "" produces nothing',
      rules: [{ from: 'groups', pattern: '^bi-role-(x)?', to: '$1' }],
      claims: { groups },
      roles: [],
    },
    {
      name: 'pattern: ignoreCase',
      rules: [{ from: 'groups', pattern: '^STAFF$', to: 'staff', ignoreCase: true }],
      claims: { groups },
      roles: ['staff'],
    },
    {
      name: 'pattern: unicode semantics (u flag)',
      rules: [{ from: 'groups', pattern: '^équipe-(\\p{L}+)$', to: '$1' }],
      claims: { groups: ['équipe-données'] },
      roles: ['données'],
    },
    {
      name: 'when: truthy adds',
      rules: [{ when: "contains(groups, 'finance')", add: ['finance_viewer'] }],
      claims: { groups },
      roles: ['finance_viewer'],
    },
    {
      name: 'when: a non-empty string is truthy, 0 is truthy',
      rules: [
        { when: 'dept', add: ['a'] },
        { when: 'level', add: ['b'] },
      ],
      claims: { dept: 'x', level: 0 },
      roles: ['a', 'b'],
    },
    ...(['false', 'null', '""', '[]', '{}'] as const).map((literal) => ({
      name: `when: \`${literal}\` is falsy`,
      rules: [{ when: 'v', add: ['x'] }] as Rules,
      claims: { v: JSON.parse(literal) as unknown },
      roles: [] as string[],
    })),
    {
      name: 'default: used when nothing else produced a name, wherever it stands',
      rules: [{ default: ['viewer'] }, { from: 'groups', map: { unknown: 'x' } }],
      claims: { groups },
      roles: ['viewer'],
    },
    {
      name: 'default: not used when another rule produced a name',
      rules: [{ default: ['viewer'] }, { from: 'groups', map: { finance: 'fin' } }],
      claims: { groups },
      roles: ['fin'],
    },
    {
      name: 'default: used when the only other rule failed at runtime',
      rules: [{ when: 'length(`5`)', add: ['x'] }, { default: ['viewer'] }],
      claims: {},
      roles: ['viewer'],
    },
    {
      name: 'names are deduplicated in first-seen order across rules',
      rules: [
        { from: 'groups', pattern: '^bi-role-(.+)$', to: '$1' },
        { from: 'groups', map: { 'bi-admins': ['admin', 'sales'] } },
        { when: '`true`', add: ['ops', 'admin', 'z'] },
      ],
      claims: { groups },
      roles: ['sales', 'ops', 'admin', 'z'],
    },
    {
      name: 'non-string values are ignored',
      rules: [{ from: 'groups', pattern: '.+' }],
      claims: { groups: ['a', 1, true, null, { name: 'b' }, ['c']] },
      roles: ['a'],
    },
    {
      name: 'a missing claim yields nothing',
      rules: [{ from: 'groups', map: { a: 'a' } }],
      claims: {},
      roles: [],
    },
  ];

  it.each(rows)('$name', ({ rules, claims, roles }) => {
    const user = allowed(compile({ roles: rules }), { sub: 'u1', ...claims });
    expect(user.roles).toEqual(roles);
  });

  it('evaluates permissions with the same rule forms, independently of roles', () => {
    const m = compile({
      roles: [{ from: 'groups', map: { finance: 'fin' } }, { default: ['viewer'] }],
      permissions: [{ from: 'groups', pattern: '^bi-role-(.+)$', to: 'edit_$1' }, { default: ['read'] }],
    });
    const user = allowed(m, { sub: 'u', groups });
    expect(user.roles).toEqual(['fin']);
    expect(user.permissions).toEqual(['edit_sales', 'edit_ops']);
    const none = allowed(m, { sub: 'u', groups: [] });
    expect(none.roles).toEqual(['viewer']);
    expect(none.permissions).toEqual(['read']);
  });

  it('traces every rule in list order with what it produced', () => {
    const m = compile({
      roles: [
        { default: ['viewer'] },
        { from: 'groups', map: { 'bi-admins': 'admin' } },
        { from: 'groups', pattern: '^nothing$' },
        { when: 'missing', add: ['x'] },
        { from: 'absent', map: { a: 'a' } },
      ],
    });
    const user = allowed(m, { sub: 'u', groups: ['bi-admins', 7] });
    expect(user.trace.filter((e) => e.path.startsWith('roles')).map((e) => [e.path, e.outcome, e.values])).toEqual([
      ['roles[0]', 'no-match', undefined],
      ['roles[1]', 'produced', ['admin']],
      ['roles[2]', 'no-match', undefined],
      ['roles[3]', 'no-match', undefined],
      ['roles[4]', 'empty', undefined],
    ]);
    expect(traceAt(user, 'roles[1]').detail).toMatch(/ignored 1 value/);
    expect(traceAt(allowed(m, { sub: 'u' }), 'roles[0]')).toEqual({ path: 'roles[0]', outcome: 'default', values: ['viewer'] });
  });

  it('drops generated names longer than 200 characters and says so', () => {
    const m = compile({ roles: [{ from: 'groups', pattern: '.+' }] });
    const user = allowed(m, { sub: 'u', groups: ['x'.repeat(201), 'ok'] });
    expect(user.roles).toEqual(['ok']);
    expect(traceAt(user, 'roles[0]').detail).toMatch(/length limit/);
  });

  it('reads an object claim value as a wrong type, recorded as an error', () => {
    const user = allowed(compile({ roles: [{ from: 'groups', map: { a: 'a' } }] }), { sub: 'u', groups: { a: true } });
    expect(user.roles).toEqual([]);
    expect(traceAt(user, 'roles[0]')).toMatchObject({ outcome: 'error', detail: expect.stringMatching(/got object/) });
  });
});
