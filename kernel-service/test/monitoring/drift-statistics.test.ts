import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alignCounts, countCategories, toFrequencies } from '../../src/monitoring/categorical.js';
import {
  binnedFrequencies,
  chiSquare,
  driftTest,
  type DriftMethod,
  type DriftTestOptions,
  jensenShannon,
  kolmogorovSmirnovSurvival,
  ks2samp,
  normedWasserstein,
  psi,
  psiFromFrequencies,
  wasserstein
} from '../../src/monitoring/drift-statistics.js';

// SciPy's answers, made by test/fixtures/drift/make_drift_fixtures.py (see its docstring for
// the sample encodings); test/python/test_drift_fixtures.py keeps them honest.
type Sample = number[] | { start: number; step: number; length: number } | { start: number; step: number; counts: number[] };
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
type Counts = Record<string, number>;

interface Fixtures {
  ks2samp: { name: string; a: Sample; b: Sample; statistic: Num; pValue: Num; branch: string }[];
  kstwo: { n: number; d: number; sf: Num; branch: string }[];
  chiSquare: { name: string; observed: number[]; expected: number[]; statistic: Num; pValue: Num }[];
  jensenShannon: { name: string; p: number[]; q: number[]; base: number | null; distance: Num }[];
  wasserstein: { name: string; u: Sample; v: Sample; distance: Num; normed: Num }[];
  psi: (
    | { name: string; kind: 'numeric'; reference: Sample; current: Sample; bins: number | null; psi: Num }
    | { name: string; kind: 'categorical'; reference: Counts; current: Counts; bins: null; psi: Num }
  )[];
  driftTest: {
    name: string;
    kind: 'numeric' | 'categorical';
    reference: Sample | Counts;
    current: Sample | Counts;
    options: DriftTestOptions;
    expected: { method: DriftMethod; statistic: Num; pValue: Num | null; threshold: number; drifted: boolean };
  }[];
}

const FIXTURES = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/drift/drift-cases.json', import.meta.url), 'utf8')
) as Fixtures;

/** The values an encoded sample stands for, computed as numpy does (start + i·step). */
function expand(sample: Sample): Float64Array {
  if (Array.isArray(sample)) return Float64Array.from(sample);
  if ('length' in sample) return Float64Array.from({ length: sample.length }, (_, i) => sample.start + i * sample.step);
  const values: number[] = [];
  sample.counts.forEach((count, i) => {
    for (let c = 0; c < count; c++) values.push(sample.start + i * sample.step);
  });
  return Float64Array.from(values);
}

const num = (x: Num): number => (typeof x === 'number' ? x : Number(x));

const STATISTIC_RTOL = 1e-12;
const P_VALUE_RTOL = 1e-9;
/** Below this a p-value is compared absolutely: relative error means nothing near underflow. */
const P_VALUE_FLOOR = 1e-300;

/** Within `rtol` relative to the expected value, or within `floor` when the expected value is smaller. */
function expectClose(actual: number, expected: Num, rtol: number, floor = 0): void {
  const want = num(expected);
  if (Number.isNaN(want)) return void expect(actual).toBeNaN();
  if (!Number.isFinite(want)) return void expect(actual).toBe(want);
  if (Math.abs(want) <= floor) return void expect(Math.abs(actual - want)).toBeLessThanOrEqual(floor);
  expect(Math.abs(actual - want) / Math.abs(want), `${actual} vs scipy's ${want}`).toBeLessThanOrEqual(rtol);
}

const expectStatistic = (actual: number, expected: Num) => expectClose(actual, expected, STATISTIC_RTOL);
const expectPValue = (actual: number, expected: Num) => expectClose(actual, expected, P_VALUE_RTOL, P_VALUE_FLOOR);

describe('ks2samp', () => {
  it.each(FIXTURES.ks2samp)('should equal scipy.stats.ks_2samp on $name ($branch)', ({ a, b, statistic, pValue }) => {
    const result = ks2samp(expand(a), expand(b));
    expectStatistic(result.statistic, statistic);
    expectPValue(result.pValue, pValue);
  });

  it('should be symmetric in its samples', () => {
    const [c] = FIXTURES.ks2samp.filter((c) => c.name.startsWith('unequal 7 vs 500'));
    expect(ks2samp(expand(c!.b), expand(c!.a))).toEqual(ks2samp(expand(c!.a), expand(c!.b)));
  });

  it('should refuse an empty sample or values that are not finite', () => {
    expect(() => ks2samp([], [1])).toThrow('a is empty');
    expect(() => ks2samp([1, NaN], [1])).toThrow('a holds NaN; drift statistics take finite numbers only');
    expect(() => ks2samp([1], [Infinity])).toThrow('b holds Infinity; drift statistics take finite numbers only');
  });
});

describe('kolmogorovSmirnovSurvival', () => {
  it.each(FIXTURES.kstwo)('should equal scipy.stats.kstwo.sf at n=$n, d=$d ($branch)', ({ n, d, sf }) => {
    expectPValue(kolmogorovSmirnovSurvival(n, d), sf);
  });

  it('should refuse an n that is not a positive integer', () => {
    expect(() => kolmogorovSmirnovSurvival(2.5, 0.1)).toThrow('n must be a positive integer, got 2.5');
  });
});

describe('chiSquare', () => {
  it.each(FIXTURES.chiSquare)('should equal scipy.stats.chisquare on $name', ({ observed, expected, statistic, pValue }) => {
    const result = chiSquare(observed, expected);
    expectStatistic(result.statistic, statistic);
    expectPValue(result.pValue, pValue);
  });

  it('should refuse totals that differ, as scipy does', () => {
    expect(() => chiSquare([10, 10], [10, 11])).toThrow(
      'observed and expected totals must agree to a relative 1.4901161193847656e-8, got 20 and 21'
    );
  });

  it('should refuse categories that do not line up, or negative counts', () => {
    expect(() => chiSquare([1, 2], [3])).toThrow('observed has 2 categories but expected has 1');
    expect(() => chiSquare([1, -2], [3, -4])).toThrow('observed[1] must be a finite number ≥ 0, got -2');
  });
});

describe('jensenShannon', () => {
  it.each(FIXTURES.jensenShannon)('should equal scipy.spatial.distance.jensenshannon on $name', ({ p, q, base, distance }) => {
    expectStatistic(jensenShannon(p, q, base ?? undefined), distance);
  });

  it('should refuse a base that is not a logarithm base, and all-zero distributions', () => {
    expect(() => jensenShannon([1], [1], 1)).toThrow('base must be a positive number other than 1, got 1');
    expect(() => jensenShannon([0, 0], [1, 1])).toThrow('p and q must each have a positive total');
  });
});

describe('wasserstein', () => {
  it.each(FIXTURES.wasserstein)('should equal scipy.stats.wasserstein_distance on $name', ({ u, v, distance }) => {
    expectStatistic(wasserstein(expand(u), expand(v)), distance);
  });
});

describe('normedWasserstein', () => {
  it.each(FIXTURES.wasserstein)("should divide by the reference's np.std (at least 0.001) on $name", ({ u, v, normed }) => {
    expectStatistic(normedWasserstein(expand(u), expand(v)), normed);
  });
});

describe('psi', () => {
  it.each(FIXTURES.psi)("should equal Evidently's PSI on $kind data: $name", (c) => {
    if (c.kind === 'numeric') {
      expectStatistic(psi(expand(c.reference), expand(c.current), c.bins ?? undefined), c.psi);
    } else {
      const aligned = alignCounts(c.reference, c.current);
      expectStatistic(psiFromFrequencies(toFrequencies(aligned.reference), toFrequencies(aligned.current)), c.psi);
    }
  });

  it('should be 0 for identical data and grow with the shift', () => {
    const reference = Array.from({ length: 200 }, (_, i) => i / 10);
    expect(psi(reference, reference)).toBe(0);
    expect(psi(reference, reference.map((x) => x + 2))).toBeLessThan(psi(reference, reference.map((x) => x + 5)));
  });
});

describe('binnedFrequencies', () => {
  it('should count each value when the reference has at most 20 distinct values', () => {
    const { reference, current } = binnedFrequencies([1, 1, 2, 3], [3, 3, 4, 4]);
    expect(Array.from(reference)).toEqual([0.5, 0.25, 0.25, 0]);
    expect(Array.from(current)).toEqual([0, 0, 0.5, 0.5]);
  });

  it('should use equal-width bins over both samples beyond 20 distinct values, the last bin closed', () => {
    const reference = Array.from({ length: 30 }, (_, i) => i);
    const { reference: r, current: c } = binnedFrequencies(reference, [29, 29, 59], 2);
    // Edges 0, 29.5, 59: the reference fills the first bin, 59 falls in the last (closed) one.
    expect(Array.from(r)).toEqual([1, 0]);
    expect(Array.from(c)).toEqual([2 / 3, 1 / 3]);
  });

  it('should refuse a bin count that is not a positive integer', () => {
    expect(() => binnedFrequencies([1], [2], 0)).toThrow('bins must be a positive integer, got 0');
  });
});

describe('alignCounts', () => {
  it('should line categories up over the union, the reference first', () => {
    const aligned = alignCounts({ b: 2, a: 1 }, new Map([['c', 5], ['a', 3]]));
    expect(aligned.categories).toEqual(['b', 'a', 'c']);
    expect(Array.from(aligned.reference)).toEqual([2, 1, 0]);
    expect(Array.from(aligned.current)).toEqual([0, 3, 5]);
  });

  it('should leave out categories counted zero times in both', () => {
    expect(alignCounts({ a: 1, b: 0 }, { b: 0, c: 2 }).categories).toEqual(['a', 'c']);
  });

  it('should refuse counts that are negative or not finite', () => {
    expect(() => alignCounts({ a: -1 }, {})).toThrow('reference count of category "a" must be a finite number ≥ 0, got -1');
  });
});

describe('countCategories', () => {
  it('should count values and skip missing ones', () => {
    expect(countCategories(['x', null, 'y', 'x', undefined])).toEqual(new Map([['x', 2], ['y', 1]]));
  });
});

describe('driftTest', () => {
  it.each(FIXTURES.driftTest)('should apply Evidently\'s choice: $name', ({ kind, reference, current, options, expected }) => {
    const result =
      kind === 'numeric'
        ? driftTest('numeric', expand(reference as Sample), expand(current as Sample), options)
        : driftTest('categorical', reference as Counts, current as Counts, options);
    expect(result.method).toBe(expected.method);
    expect(result.threshold).toBe(expected.threshold);
    expect(result.drifted).toBe(expected.drifted);
    expectStatistic(result.statistic, expected.statistic);
    if (expected.pValue === null) expect(result.pValue).toBeNull();
    else expectPValue(result.pValue!, expected.pValue);
  });

  it('should drop values that are not finite, as Evidently drops NaN and ±inf', () => {
    const reference = [0.1, 0.5, 0.9, 1.3, 2.2];
    const current = [0.4, 0.8, 1.9, 2.5];
    expect(driftTest('numeric', [...reference, NaN, Infinity], [-Infinity, ...current])).toEqual(
      driftTest('numeric', reference, current)
    );
  });

  it('should move to the distances above smallReferenceMax', () => {
    expect(driftTest('numeric', [1, 2, 3, 4], [2, 3, 4, 5], { smallReferenceMax: 3 }).method).toBe('wasserstein');
    expect(driftTest('categorical', { a: 2, b: 2 }, { a: 1, b: 3 }, { smallReferenceMax: 3 }).method).toBe('jensenshannon');
  });

  it('should reject a method that does not apply to the kind of feature', () => {
    expect(() => driftTest('categorical', { a: 1 }, { a: 1 }, { method: 'ks' })).toThrow(
      'drift method "ks" does not apply to categorical features; use one of chisquare, jensenshannon, psi'
    );
    expect(() => driftTest('numeric', [1], [1], { method: 'chisquare' })).toThrow(
      'drift method "chisquare" does not apply to numeric features; use one of ks, wasserstein, jensenshannon, psi'
    );
  });

  it('should reject thresholds out of range', () => {
    expect(() => driftTest('numeric', [1], [1], { thresholds: { ks: 1.5 } })).toThrow(
      'threshold for "ks" must be a p-value between 0 and 1, got 1.5'
    );
    expect(() => driftTest('numeric', [1], [1], { thresholds: { psi: -0.1 } })).toThrow(
      'threshold for "psi" must be a finite number ≥ 0, got -0.1'
    );
  });

  it('should refuse a numeric sample with no finite values', () => {
    expect(() => driftTest('numeric', [NaN], [1])).toThrow('reference has no finite values');
  });
});
