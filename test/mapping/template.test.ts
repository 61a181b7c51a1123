import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { compileTemplate, expandTemplate, groupsOf } from '../../src/core/mapping/template.js';

/** What String.prototype.replace puts in place of the match: the oracle for our expansion. */
function nativeExpansion(input: string, regex: RegExp, template: string): string | null {
  const match = regex.exec(input);
  if (!match) return null;
  const replaced = input.replace(regex, template);
  return replaced.slice(match.index, replaced.length - (input.length - match.index - match[0].length));
}

function ours(input: string, regex: RegExp, template: string): string | null {
  const match = regex.exec(input);
  if (!match) return null;
  const groups = groupsOf(regex);
  return expandTemplate(compileTemplate(template, groups.count, groups.names), match);
}

const patterns = [
  '(a)(b)?',
  '(?<x>a+)(?<y>b)?',
  '(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)',
  'b',
  '(?<first>a)|(?<second>b)',
  '',
];

describe('replacement templates', () => {
  it('expand exactly as ECMAScript replace does ($n, $nn, $<name>, $&, $`, $\', $$, stray $)', () => {
    const templateChar = fc.constantFrom('$', '$', '0', '1', '2', '9', '<', '>', 'x', 'y', 'first', '&', '`', "'", '-');
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.array(templateChar, { maxLength: 12 }).map((a) => a.join('')),
        fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 16 }),
        (pattern, template, input) => {
          const regex = new RegExp(pattern, 'u');
          expect(ours(input, regex, template)).toEqual(nativeExpansion(input, regex, template));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['$1-$2', 'ab', '(a)(b)', 'a-b'],
    ['$10', 'a', '(a)', 'a0'],
    ['$01', 'a', '(a)', 'a'],
    ['$0', 'a', '(a)', '$0'],
    ['$<x>$<nope>', 'a', '(?<x>a)', 'a'],
    ['$<x>', 'a', '(a)', '$<x>'],
    ['$$1', 'a', '(a)', '$1'],
    ['cost$', 'a', 'a', 'cost$'],
  ])('%s on %s with /%s/ gives %s', (template, input, pattern, expected) => {
    expect(ours(input, new RegExp(pattern, 'u'), template)).toBe(expected);
  });

  it('reports references ECMAScript would leave literal or empty', () => {
    expect(compileTemplate('$2 $0 $<x>', 1, null).warnings).toEqual([
      '$2: the pattern has 1 group(s)',
      '$0 is not a group reference (use $& for the whole match)',
      '$< is literal: the pattern has no named groups',
    ]);
    expect(compileTemplate('$<y> $1 $& $$', 1, ['x']).warnings).toEqual(['$<y>: the pattern has no group named "y"']);
  });

  it('counts groups and names from the RegExp', () => {
    expect(groupsOf(/(a)(?:b)(?<c>c)\(/u)).toEqual({ count: 2, names: ['c'] });
    expect(groupsOf(/x/u)).toEqual({ count: 0, names: null });
  });
});
