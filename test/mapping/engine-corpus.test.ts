import { readFileSync } from 'node:fs';
import { describe, it, expect } from '@jest/globals';
import { compileExpression, evaluateExpression } from '../../src/core/mapping/jmespath-engine.js';

/**
 * Every expression found in the repository (source, tests, demo, bench, example config, documentation) plus
 * probes of the places where JMESPath implementations disagree, with the results jmespath.js 0.16 gave on ten
 * claim sets. The engine must keep giving exactly these results, so no saved mapping changes meaning.
 */
interface Corpus {
  fixtures: unknown[];
  expressions: { expr: string; results: (['ok', unknown] | ['error'] | ['function'])[] }[];
}
const corpus = JSON.parse(readFileSync(new URL('./expression-corpus.json', import.meta.url), 'utf8')) as Corpus;

function outcome(expr: string, data: unknown): ['ok', unknown] | ['error'] | ['function'] {
  try {
    const value = evaluateExpression(compileExpression(expr), data);
    return typeof value === 'function' ? ['function'] : ['ok', value];
  } catch {
    return ['error'];
  }
}

describe('expression corpus', () => {
  it('holds the expressions of today and fixtures with nulls, arrays, numbers, booleans, quoted keys and unicode', () => {
    expect(corpus.expressions.length).toBeGreaterThan(600);
    expect(corpus.fixtures).toContain(null);
    const keys = corpus.fixtures.flatMap((f) => (f && typeof f === 'object' ? Object.keys(f) : []));
    expect(keys).toEqual(expect.arrayContaining(['a.b', 'x/y', 'd-e', 'ü', 'https://x.example/c']));
  });

  it('compiles every expression of the corpus', () => {
    const failed = corpus.expressions.filter(({ expr }) => {
      try {
        compileExpression(expr);
        return false;
      } catch {
        return true;
      }
    });
    expect(failed.map((e) => e.expr)).toEqual([]);
  });

  it('gives the recorded result for every expression on every fixture', () => {
    const diffs: string[] = [];
    for (const { expr, results } of corpus.expressions) {
      corpus.fixtures.forEach((fixture, i) => {
        const got = outcome(expr, fixture);
        if (JSON.stringify(got) !== JSON.stringify(results[i])) {
          diffs.push(`${expr} on fixture ${i}: expected ${JSON.stringify(results[i])}, got ${JSON.stringify(got)}`);
        }
      });
    }
    expect(diffs).toEqual([]);
  });
});

