import { describe, it, expect } from '@jest/globals';
import {
  compileMapping,
  evaluateMapping,
  mappingSchema,
  MappingConfigError,
  validateMappingDocument,
} from '../../src/core/mapping/index.js';
import { GatewayError } from '../../src/core/errors/errors.js';
import { compileExpression, evaluateExpression } from '../../src/core/mapping/jmespath-engine.js';

const paths = (problems: { path: string }[]) => problems.map((p) => p.path);

describe('compileMapping', () => {
  const broken = mappingSchema.parse({
    match: "tenant == ",
    require: [{ expr: 'email_verified ==' }],
    user: { usercode: 'sub', email: 'lenght(email)', displayName: 'starts_with(name)' },
    roles: [
      { from: 'groups', map: { a: 'a' } },
      { from: 'groups', pattern: '^bi-(.+$' },
      { from: 'groups[', pattern: '(?<team>x)', to: ['$<taem>', '$2', 'ok-$1'] },
      { when: 'contains(groups, )', add: ['x'] },
    ],
    permissions: [{ from: 'groups', pattern: '[', ignoreCase: true }],
    attributes: { region: 'regions[?', 'cost center': 'constructor(x)' },
  });

  it('reports every problem at once, each with its path under basePath', () => {
    let error: unknown;
    try {
      compileMapping(broken, 'mappings.corp');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MappingConfigError);
    expect(error).toBeInstanceOf(GatewayError);
    const e = error as MappingConfigError;
    expect(e.code).toBe('mapping_invalid');
    expect(e.status).toBe(400);
    expect(paths(e.problems)).toEqual([
      'mappings.corp.match',
      'mappings.corp.require[0].expr',
      'mappings.corp.user.email',
      'mappings.corp.user.displayName',
      'mappings.corp.roles[1].pattern',
      'mappings.corp.roles[2].from',
      'mappings.corp.roles[2].to[0]',
      'mappings.corp.roles[2].to[1]',
      'mappings.corp.roles[3].when',
      'mappings.corp.permissions[0].pattern',
      'mappings.corp.attributes.region',
      'mappings.corp.attributes["cost center"]',
    ]);
    const byPath = new Map(e.problems.map((p) => [p.path, p]));
    expect(byPath.get('mappings.corp.user.email')!.message).toBe('unknown function lenght()');
    expect(byPath.get('mappings.corp.user.displayName')!.message).toBe('starts_with() takes 2 arguments, not 1');
    expect(byPath.get('mappings.corp.attributes["cost center"]')!.message).toBe('unknown function constructor()');
    expect(byPath.get('mappings.corp.roles[1].pattern')).toMatchObject({ message: /invalid pattern/, hint: /u flag/ });
    expect(byPath.get('mappings.corp.roles[2].to[0]')!.message).toMatch(/no group named "taem"/);
    expect(byPath.get('mappings.corp.match')).toMatchObject({ message: /invalid expression/, hint: /quote claim names/ });
    expect(e.extra).toEqual({ problems: e.problems });
  });

  it('writes paths without a leading dot when basePath is empty', () => {
    const e = (() => {
      try {
        compileMapping(mappingSchema.parse({ user: { usercode: 'sub[' } }));
      } catch (err) {
        return err as MappingConfigError;
      }
      throw new Error('expected a MappingConfigError');
    })();
    expect(paths(e.problems)).toEqual(['user.usercode']);
  });

  it('flags a pattern valid without the u flag but not with it', () => {
    const result = validateMappingDocument({ user: { usercode: 'sub' }, roles: [{ from: 'g', pattern: '\\-x' }] }, '');
    expect(paths(result.problems)).toEqual(['roles[0].pattern']);
  });

  it('compiles each expression text once, whatever the mapping', () => {
    expect(compileExpression('groups[?starts_with(@, `"bi-"`)]')).toBe(compileExpression('groups[?starts_with(@, `"bi-"`)]'));
  });

  it('evaluates compiled expressions with the results mappings were written against', () => {
    const data = { a: [{ n: 2, s: 'x' }, { n: 1, s: 'y' }], 'https://x.example/c': [{ r: ['p', 'q'] }], t: true };
    const expected: [string, unknown][] = [
      ['a[*].s', ['x', 'y']],
      ['sort_by(a, &n)[*].s', ['y', 'x']],
      ['max_by(a, &n).s', 'x'],
      ['map(&n, a)', [2, 1]],
      ['"https://x.example/c"[0].r[]', ['p', 'q']],
      ['a[?n > `1`].s | [0]', 'x'],
      ['{x: t, y: length(a)}', { x: true, y: 2 }],
      ['not_null(z, a[0].s)', 'x'],
      ['t && !z', true],
      ['merge(`{"k":1}`, {m: t})', { k: 1, m: true }],
    ];
    for (const [expr, value] of expected) expect(evaluateExpression(compileExpression(expr), data)).toEqual(value);
  });

  it('refuses at load what the previous parser let through by ignoring it', () => {
    // jmespath.js read `(groups admins)` as `groups` and accepted a trailing dot that failed at every login.
    for (const source of ['(groups admins)', 'groups.']) {
      expect(paths(validateMappingDocument({ user: { usercode: source } }, '').problems)).toEqual(['user.usercode']);
    }
  });

  it('accepts the functions and syntax added by the community specification', () => {
    const { problems } = validateMappingDocument(
      {
        user: { usercode: 'let $u = sub in $u', displayName: "join(' ', [given_name, family_name])" },
        attributes: { teams: 'items(teams)[*][0]', first: "find_first(name, 'a')", byKind: 'keys(group_by(g, &kind))' },
      },
      '',
    );
    expect(problems).toEqual([]);
    expect(paths(validateMappingDocument({ user: { usercode: "pad_left(sub)" } }, '').problems)).toEqual(['user.usercode']);
  });
});

describe('validateMappingDocument', () => {
  it('returns schema problems and expression problems together, with zod paths in a.b[0].c form', () => {
    const { mapping, problems } = validateMappingDocument(
      {
        match: 'a ==',
        user: { usercode: 'sub', nickname: 'nick' },
        roles: [
          { from: 'groups', map: { a: 5 } },
          { from: 'groups', pattern: '(' },
          { from: 'g', pattern: '(x)', to: '$3' },
          { nothing: true },
        ],
        attributes: { region: '' },
        sync: { email: 'sometimes' },
      },
      'mappings.corp',
    );
    expect(mapping).toBeUndefined();
    expect(paths(problems).sort()).toEqual(
      [
        'mappings.corp.user',
        'mappings.corp.roles[0].map.a',
        'mappings.corp.roles[3]',
        'mappings.corp.attributes.region',
        'mappings.corp.sync.email',
        'mappings.corp.match',
        'mappings.corp.roles[1].pattern',
        'mappings.corp.roles[2].to',
      ].sort(),
    );
    expect(problems.find((p) => p.path === 'mappings.corp.user')!.message).toMatch(/nickname/);
    expect(problems.find((p) => p.path === 'mappings.corp.roles[0].map.a')!.message).toBe('must be a name or a list of names');
  });

  it('requires user.usercode', () => {
    const { problems } = validateMappingDocument({ user: {} }, 'm');
    expect(paths(problems)).toEqual(['m.user.usercode']);
  });

  it('reports a document that is not an object at the root', () => {
    expect(paths(validateMappingDocument('nope', '').problems)).toEqual(['(root)']);
  });

  it('returns a compiled mapping ready to evaluate when valid', () => {
    const { mapping, problems } = validateMappingDocument({ user: { usercode: 'sub' }, roles: [{ default: ['viewer'] }] }, 'm');
    expect(problems).toEqual([]);
    expect(evaluateMapping(mapping!, { sub: 'u' })).toMatchObject({ allowed: true, user: { usercode: 'u', roles: ['viewer'] } });
  });
});
