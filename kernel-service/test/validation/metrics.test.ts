/**
 * The service's validation metrics (the one implementation; Python and TypeScript notebooks
 * show what it computes) against scikit-learn's answers on scikit-learn's own fixtures
 * (test/fixtures/metrics/make_metrics_fixtures.py): equal within a relative 1e-12 where the
 * definition is exact; the bootstrap reproducible for a seed; gates as documented.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import { bootstrapIntervals, percentile } from '../../src/validation/bootstrap.js';
import { evaluateGates, parseGate } from '../../src/validation/gates.js';
import { classificationDetails, classificationScores, curves, regressionScores } from '../../src/validation/metrics.js';

interface Case {
  name: string;
  task: 'classification' | 'regression';
  classes?: Array<number | string>;
  y_true: Array<number | string>;
  labels?: Array<number | string>;
  scores?: number[][];
  values?: number[];
  metrics: Record<string, number | null>;
  details?: Record<string, any>;
}

const fixtures = JSON.parse(readFileSync(new URL('../../../test/fixtures/metrics/metrics-cases.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  percentile: { values: number[]; expected: Record<string, number> };
};
const gateCases = JSON.parse(readFileSync(new URL('../../../test/fixtures/metrics/gate-cases.json', import.meta.url), 'utf8')).cases as Array<{
  gates: Record<string, string>;
  metrics: Record<string, number | null>;
  baseline: Record<string, number> | null;
  training: Record<string, number>;
  results: unknown[];
}>;

/** Equal within a relative 1e-12 (absolute for zero): the same definition, up to summation order. */
function expectExact(actual: number | null | undefined, expected: number, name: string): void {
  expect(actual, name).not.toBeNull();
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual! - expected) / (expected === 0 ? 1 : scale), `${name}: ${actual} vs scikit-learn's ${expected}`).toBeLessThanOrEqual(1e-12);
}

function expectClose(actual: Record<string, number | null>, expected: Record<string, number | null>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, value] of Object.entries(expected)) {
    if (value === null) expect(actual[name], name).toBeNull();
    else expectExact(actual[name], value, name);
  }
}

describe('classificationScores', () => {
  for (const c of fixtures.cases.filter((c) => c.task === 'classification')) {
    it(`should match scikit-learn: ${c.name}`, () => {
      expectClose(classificationScores(c.y_true, c.labels!, c.scores!, c.classes!), c.metrics);
    });
  }

  it('should leave out the scores metrics without scores', () => {
    const c = fixtures.cases[0]!;
    const m = classificationScores(c.y_true, c.labels!, null, c.classes!);
    expect(m.roc_auc).toBeNull();
    expect(m.log_loss).toBeNull();
    expectExact(m.accuracy, c.metrics.accuracy!, 'accuracy');
  });
});

describe('classificationDetails and curves', () => {
  for (const c of fixtures.cases.filter((c) => c.task === 'classification')) {
    it(`should match scikit-learn's confusion matrix, per-class metrics and curves: ${c.name}`, () => {
      const details = { ...classificationDetails(c.y_true, c.labels!, c.classes!), ...curves(c.y_true, c.scores!, c.classes!) };
      expect(details.confusion_matrix).toEqual(c.details!.confusion_matrix);
      for (const [label, expected] of Object.entries(c.details!.per_class as Record<string, Record<string, number>>)) {
        expectClose(details.per_class[label] as unknown as Record<string, number>, expected);
      }
      expect(Object.keys(details).sort()).toEqual(Object.keys(c.details!).sort());
      if (c.details!.roc) {
        expect(details.roc!.fpr.length).toBe(c.details!.roc.fpr.length);
        details.roc!.fpr.forEach((v, i) => expectExact(v, c.details!.roc.fpr[i], `fpr[${i}]`));
        details.roc!.tpr.forEach((v, i) => expectExact(v, c.details!.roc.tpr[i], `tpr[${i}]`));
        expect(details.calibration!.map((b) => b.count)).toEqual(c.details!.calibration.map((b: { count: number }) => b.count));
        details.calibration!.forEach((b, i) => {
          expectExact(b.predicted, c.details!.calibration[i].predicted, `calibration[${i}].predicted`);
          expectExact(b.observed, c.details!.calibration[i].observed, `calibration[${i}].observed`);
        });
      }
    });
  }
});

describe('regressionScores', () => {
  for (const c of fixtures.cases.filter((c) => c.task === 'regression')) {
    it(`should match scikit-learn: ${c.name}`, () => {
      expectClose(regressionScores(c.y_true as number[], c.values!), c.metrics);
    });
  }
});

describe('bootstrapIntervals', () => {
  it("should take numpy's percentiles", () => {
    for (const [q, expected] of Object.entries(fixtures.percentile.expected)) {
      expectExact(percentile(fixtures.percentile.values, Number(q)), expected, `percentile ${q}`);
    }
  });

  it('should bracket the metric, the same on every run, and narrow with more rows', () => {
    const c = fixtures.cases[0]!;
    const score = (idx: number[]) =>
      classificationScores(idx.map((i) => c.y_true[i]!), idx.map((i) => c.labels![i]!), idx.map((i) => c.scores![i]!), c.classes!);
    const a = bootstrapIntervals(score, c.y_true.length, 100);
    expect(bootstrapIntervals(score, c.y_true.length, 100)).toEqual(a);
    for (const name of ['accuracy', 'f1', 'roc_auc']) {
      const [lo, hi] = a[name]!;
      expect(lo).toBeLessThan(c.metrics[name]!);
      expect(hi).toBeGreaterThan(c.metrics[name]!);
    }
    const few = bootstrapIntervals((idx) => score(idx.map((i) => i % 20)), 20, 100);
    expect(few.accuracy![1] - few.accuracy![0]).toBeGreaterThan(a.accuracy![1] - a.accuracy![0]);
  });

  it('should draw the same resamples for the same seed, and others for another seed', () => {
    const c = fixtures.cases[2]!;
    const score = (idx: number[]) =>
      classificationScores(idx.map((i) => c.y_true[i]!), idx.map((i) => c.labels![i]!), idx.map((i) => c.scores![i]!), c.classes!);
    const seven = bootstrapIntervals(score, c.y_true.length, 60, 0.95, 7);
    expect(bootstrapIntervals(score, c.y_true.length, 60, 0.95, 7)).toEqual(seven);
    expect(bootstrapIntervals(score, c.y_true.length, 60)).toEqual(seven);
    expect(bootstrapIntervals(score, c.y_true.length, 60, 0.95, 8)).not.toEqual(seven);
  });

  it('should give null for a metric scored on fewer than half the resamples', () => {
    const intervals = bootstrapIntervals(() => ({ always: 1, never: null }), 10, 20);
    expect(intervals).toEqual({ always: [1, 1], never: null });
  });
});

describe('evaluateGates', () => {
  for (const g of gateCases) {
    it(`should decide as documented: ${JSON.stringify(g.gates)} ${g.baseline ? 'with' : 'without'} a baseline`, () => {
      expect(evaluateGates(g.gates, g.metrics, g.baseline, g.training)).toEqual(g.results);
    });
  }

  it('should refuse a condition it cannot read, saying how to write one', () => {
    expect(() => parseGate('at least 0.9')).toThrow(ServiceError);
    expect(() => parseGate('>= prod - 1')).toThrow(/write e.g. ">= 0.9"/);
    expect(() => evaluateGates({ f1: '>> 0.9' }, { f1: 0.9 }, null, null)).toThrow(/gate condition of "f1" ">> 0.9"/);
  });

  it('should refuse a gate on a metric the report does not have', () => {
    expect(() => evaluateGates({ f2: '>= 0.9' }, { f1: 0.9 }, null, null)).toThrow(/unknown metric "f2"; the report has f1/);
  });
});
