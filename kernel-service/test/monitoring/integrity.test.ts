import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import {
  DEFAULT_INTEGRITY_POLICY,
  IntegrityPlan,
  type IntegrityPolicy,
  type IntegrityReport,
  type RequestTensor,
  decodeJsonInput,
  inspectRequest
} from '../../src/monitoring/integrity.js';
import { IntegrityCounts, NULL_SPIKE_MIN_ROWS, isNullSpike } from '../../src/monitoring/integrity-counts.js';
import { Monitor } from '../../src/monitoring/monitor.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import type { Registry } from '../../src/registry/registry.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import type { Signature } from '../../src/runtime/signature.js';

// A model exported from a DataFrame: one input per column, named like the feature.
const SIGNATURE: Signature = {
  inputs: [
    { name: 'age', datatype: 'FP32', shape: [-1, 1] },
    { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
    { name: 'visits', datatype: 'INT64', shape: [-1, 1] }
  ],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
  batchable: true
};
const PROFILE = {
  features: {
    age: { kind: 'numeric', min: 20, max: 70, null_rate: 0.01 },
    city: { kind: 'categorical', categories: { paris: 0.5, lyon: 0.5 }, other_rate: 0, null_rate: 0 },
    visits: { kind: 'numeric', min: 0, max: 10, null_rate: 0 }
  }
};
const plan = new IntegrityPlan('churn', SIGNATURE, PROFILE);

const age = (values: number[]): Tensor => ({ name: 'age', datatype: 'FP32', shape: [values.length, 1], data: Float32Array.from(values) });
const city = (values: string[]): Tensor => ({ name: 'city', datatype: 'BYTES', shape: [values.length, 1], data: values });
const visits = (values: number[]): Tensor => ({ name: 'visits', datatype: 'INT64', shape: [values.length, 1], data: BigInt64Array.from(values.map(BigInt)) });
const json = (name: string, datatype: Tensor['datatype'], values: unknown[]): RequestTensor => decodeJsonInput(name, datatype, [values.length, 1], values);

const inspect = (inputs: RequestTensor[], policy: Partial<IntegrityPolicy> = {}) => inspectRequest(plan, { ...DEFAULT_INTEGRITY_POLICY, ...policy }, inputs);
const kinds = (report: IntegrityReport) => report.violations.map((v) => [v.kind, v.feature, v.rows]);
const values = (t: Tensor | undefined) => Array.from(t!.data as ArrayLike<unknown>);

describe('inspectRequest', () => {
  it('should pass a clean request through untouched, counting its nulls', () => {
    const inputs = [age([30, NaN]), city(['paris', '']), visits([1, 2])];
    const { inputs: out, report, refusal } = inspect(inputs);
    expect(refusal).toBeNull();
    expect(report.violations).toEqual([]);
    expect(out[0]).toBe(inputs[0]);
    expect(report.nulls).toEqual([
      { feature: 'age', nulls: 1, rows: 2, trainingNullRate: 0.01 },
      { feature: 'city', nulls: 1, rows: 2, trainingNullRate: 0 },
      { feature: 'visits', nulls: 0, rows: 2, trainingNullRate: 0 }
    ]);
  });

  describe('missing_feature', () => {
    it('should refuse a missing input by default, naming it and the kind', () => {
      const { report, refusal } = inspect([city(['paris']), visits([1])]);
      expect(kinds(report)).toEqual([['missing_feature', 'age', 1]]);
      expect(refusal?.code).toBe('NBD_ERR_INTEGRITY_REFUSED');
      expect(refusal?.message).toBe('input "age" refused by the model\'s integrity policy (missing_feature): missing input "age": model "churn" expects "age" (FP32 [N, 1])');
      expect(report.violations[0]!.refused).toBe(true);
    });

    it('should fill a missing float input with NaN and a missing BYTES input with "" when served', () => {
      const { inputs, report, refusal } = inspect([visits([1, 2])], { missing_feature: 'serve' });
      expect(refusal).toBeNull();
      expect(kinds(report)).toEqual([
        ['missing_feature', 'age', 2],
        ['missing_feature', 'city', 2]
      ]);
      expect(inputs[0]!.shape).toEqual([2, 1]);
      expect(values(inputs[0]).every((v) => Number.isNaN(v))).toBe(true);
      expect(inputs[1]!.data).toEqual(['', '']);
      expect(report.violations[0]!.served).toBe('filled with NaN');
    });

    it('should refuse a missing integer input whatever the policy: nothing stands for a missing integer', () => {
      const { report, refusal } = inspect([age([30]), city(['paris'])], { missing_feature: 'serve' });
      expect(kinds(report)).toEqual([['missing_feature', 'visits', 1]]);
      expect(refusal?.code).toBe('NBD_ERR_INPUT_MISSING');
      expect(refusal?.message).toContain('missing input "visits"');
    });
  });

  describe('unexpected_feature', () => {
    it('should drop an extra input when served, and count it', () => {
      const extra: Tensor = { name: 'colour', datatype: 'BYTES', shape: [1, 1], data: ['red'] };
      const { inputs, report, refusal } = inspect([age([30]), city(['paris']), visits([1]), extra]);
      expect(refusal).toBeNull();
      expect(inputs.map((t) => t.name)).toEqual(['age', 'city', 'visits']);
      expect(kinds(report)).toEqual([['unexpected_feature', 'colour', 1]]);
      expect(report.violations[0]!.detail).toContain('which takes "age" (FP32 [N, 1])');
    });

    it('should guess a rename when the unexpected input\'s values fit the missing feature', () => {
      const renamed: Tensor = { ...age([31, 45]), name: 'Age' };
      const { report, refusal } = inspect([renamed, city(['paris', 'lyon']), visits([1, 1])]);
      expect(kinds(report)).toEqual([
        ['unexpected_feature', 'Age', 2],
        ['missing_feature', 'age', 2]
      ]);
      expect(report.violations[0]!.detail).toContain('its values fit the missing input "age" (likely renamed)');
      expect(refusal?.message).toContain('"Age" was sent instead (likely renamed)');
    });

    it('should not guess a rename when the values fall outside the feature\'s training range', () => {
      const other: Tensor = { ...age([5000]), name: 'income' };
      const { report } = inspect([other, city(['paris']), visits([1])]);
      expect(report.violations[0]!.detail).not.toContain('likely renamed');
    });

    it('should refuse an extra input when the policy says so', () => {
      const extra: Tensor = { name: 'colour', datatype: 'BYTES', shape: [1, 1], data: ['red'] };
      const { refusal } = inspect([age([30]), city(['paris']), visits([1]), extra], { unexpected_feature: 'refuse' });
      expect(refusal?.code).toBe('NBD_ERR_INTEGRITY_REFUSED');
      expect(refusal?.message).toMatch(/^input "colour" refused by the model's integrity policy \(unexpected_feature\)/);
    });
  });

  describe('type_mismatch', () => {
    it('should coerce numbers sent as strings and comma decimals, saying which', () => {
      const raw = json('age', 'FP32', ['30.5', '41,5', 50]);
      expect('values' in raw).toBe(true); // kept raw: the strings are still visible
      const { inputs, report, refusal } = inspect([raw, city(['paris', 'lyon', 'lyon']), visits([1, 2, 3])]);
      expect(refusal).toBeNull();
      expect(values(inputs[0])).toEqual([30.5, 41.5, 50]);
      expect(kinds(report)).toEqual([['type_mismatch', 'age', 2]]);
      expect(report.violations[0]!.detail).toBe('numbers sent as strings ("30.5")');
      expect(report.violations[0]!.served).toBe('coerced to FP32');
      const comma = inspect([json('age', 'FP32', ['41,5']), city(['paris']), visits([1])]);
      expect(comma.report.violations[0]!.detail).toBe('comma decimals ("41,5" read as 41.5)');
    });

    it('should coerce strings sent as BYTES to a numeric input, and numbers to a BYTES input', () => {
      const { inputs, report } = inspect([json('age', 'BYTES', ['33', '44']), json('city', 'INT32', [7, 8]), visits([1, 2])]);
      expect(values(inputs[0])).toEqual([33, 44]);
      expect(inputs[1]!.data).toEqual(['7', '8']);
      expect(kinds(report).slice(0, 2)).toEqual([
        ['type_mismatch', 'age', 2],
        ['type_mismatch', 'city', 2]
      ]);
      expect(report.violations[0]!.detail).toBe('datatype BYTES sent, FP32 expected: numbers sent as strings ("33")');
    });

    it('should convert another numeric datatype (FP64 for FP32, INT32 for INT64)', () => {
      const fp64: Tensor = { name: 'age', datatype: 'FP64', shape: [1, 1], data: Float64Array.from([30]) };
      const int32: Tensor = { name: 'visits', datatype: 'INT32', shape: [1, 1], data: Int32Array.from([4]) };
      const { inputs, report, refusal } = inspect([fp64, city(['paris']), int32]);
      expect(refusal).toBeNull();
      expect(inputs[0]!.datatype).toBe('FP32');
      expect(inputs[2]!.data).toEqual(BigInt64Array.from([4n]));
      expect(report.violations.map((v) => v.detail)).toEqual(['datatype FP64 sent, FP32 expected', 'datatype INT32 sent, INT64 expected']);
    });

    it('should refuse what cannot be coerced with the input error it always had, and still count it', () => {
      const { report, refusal } = inspect([json('age', 'FP32', ['abc']), city(['paris']), visits([1])], { type_mismatch: 'serve' });
      expect(kinds(report)).toEqual([['type_mismatch', 'age', 1]]);
      expect(refusal?.code).toBe('NBD_ERR_INPUT_DATA');
      expect(refusal?.message).toMatch(/^input "age": element 0 is "abc"; FP32 needs a number/);
      const fraction = inspect([age([30]), city(['paris']), json('visits', 'FP32', [1.5])]);
      expect(fraction.refusal?.code).toBe('NBD_ERR_INPUT_DATATYPE');
    });

    it('should refuse even a coercible mismatch when the policy says so', () => {
      const { refusal } = inspect([json('age', 'FP32', ['30']), city(['paris']), visits([1])], { type_mismatch: 'refuse' });
      expect(refusal?.code).toBe('NBD_ERR_INTEGRITY_REFUSED');
      expect(refusal?.message).toBe('input "age" refused by the model\'s integrity policy (type_mismatch): numbers sent as strings ("30")');
    });

    it('should read JSON null as a missing value (NaN, ""), not as a type mismatch', () => {
      const { inputs, report } = inspect([json('age', 'FP32', [null, 30]), json('city', 'BYTES', [null, 'paris']), visits([1, 2])]);
      expect(report.violations).toEqual([]);
      expect(Number.isNaN(values(inputs[0])[0])).toBe(true);
      expect(inputs[1]!.data).toEqual(['', 'paris']);
      expect(report.nulls.slice(0, 2).map((n) => n.nulls)).toEqual([1, 1]);
    });

    it('should still refuse a JSON input whose element count does not fit its shape', () => {
      expect(() => decodeJsonInput('age', 'FP32', [2, 1], ['1'])).toThrow(ServiceError);
    });
  });

  describe('new_category', () => {
    it('should count values in categories not seen in training, and serve them as sent', () => {
      const { inputs, report, refusal } = inspect([age([30, 30, 30]), city(['paris', 'berlin', 'rome']), visits([1, 1, 1])]);
      expect(refusal).toBeNull();
      expect(inputs[1]!.data).toEqual(['paris', 'berlin', 'rome']);
      expect(kinds(report)).toEqual([['new_category', 'city', 2]]);
      expect(report.violations[0]!.detail).toBe('2 value(s) in categories not seen in training (e.g. "berlin")');
    });

    it('should not judge categories when the profile kept only the most frequent ones', () => {
      const truncated = new IntegrityPlan('m', SIGNATURE, { features: { city: { kind: 'categorical', categories: { paris: 0.9 }, other_rate: 0.1 } } });
      const { report } = inspectRequest(truncated, DEFAULT_INTEGRITY_POLICY, [age([30]), city(['berlin']), visits([1])]);
      expect(report.violations).toEqual([]);
    });

    it('should refuse a new category when the policy says so', () => {
      const { refusal } = inspect([age([30]), city(['berlin']), visits([1])], { new_category: 'refuse' });
      expect(refusal?.message).toMatch(/^input "city" refused by the model's integrity policy \(new_category\)/);
    });
  });

  describe('out_of_range', () => {
    it('should count values outside [min, max] widened by 10% of the range', () => {
      // age: training [20, 70], range 50, margin 5: [15, 75] is in range.
      const { report } = inspect([age([15, 75, 14.9, 75.1, Infinity]), city(['paris', 'paris', 'paris', 'paris', 'paris']), visits([0, 0, 0, 0, 12])]);
      expect(kinds(report)).toEqual([
        ['out_of_range', 'age', 3],
        ['out_of_range', 'visits', 0 + 1]
      ]);
      expect(report.violations[0]!.detail).toBe('3 value(s) outside the training range [20, 70] widened by 10% (e.g. 14.899999618530273)');
    });

    it('should refuse out-of-range values when the policy says so', () => {
      const { refusal } = inspect([age([200]), city(['paris']), visits([1])], { out_of_range: 'refuse' });
      expect(refusal?.code).toBe('NBD_ERR_INTEGRITY_REFUSED');
      expect(refusal?.message).toContain('input "age"');
      expect(refusal?.message).toContain('(out_of_range)');
    });
  });

  it('should map the columns of a single matrix input to the profile features in order', () => {
    const matrixPlan = new IntegrityPlan('m', { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }], outputs: [], batchable: true }, {
      features: { a: { kind: 'numeric', min: 0, max: 1, null_rate: 0 }, b: { kind: 'numeric', min: 0, max: 1, null_rate: 0 } }
    });
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([0.5, 9, NaN, 0.5]) };
    const { report } = inspectRequest(matrixPlan, DEFAULT_INTEGRITY_POLICY, [input]);
    expect(kinds(report)).toEqual([['out_of_range', 'b', 1]]);
    expect(report.nulls.map((n) => [n.feature, n.nulls])).toEqual([
      ['a', 1],
      ['b', 0]
    ]);
  });

  it('should check the signature alone when the version has no profile', () => {
    const bare = new IntegrityPlan('m', SIGNATURE, undefined);
    const { report } = inspectRequest(bare, DEFAULT_INTEGRITY_POLICY, [json('age', 'FP32', ['3']), city(['berlin']), visits([999])]);
    expect(kinds(report)).toEqual([['type_mismatch', 'age', 1]]);
  });
});

describe('null_spike', () => {
  it('should need enough rows, a real excess and a significant one', () => {
    expect(isNullSpike(10, NULL_SPIKE_MIN_ROWS - 1, 0)).toBe(false);
    expect(isNullSpike(10, 40, 0.01)).toBe(true); // 25% against 1%
    expect(isNullSpike(2, 40, 0.01)).toBe(false); // 5% against 1%: z ≈ 2.5
    expect(isNullSpike(150, 1000, 0.1)).toBe(true); // 15% against 10%: z ≈ 5.3
    expect(isNullSpike(150, 1000, null)).toBe(true); // no training rate: 0
    expect(isNullSpike(120, 1000, 0.1)).toBe(false); // 12%: under the 5-point excess
  });

  it('should count every null of a feature in a window once it spikes, and nothing before', () => {
    const counts = new IntegrityCounts();
    const nulls = (n: number, rows: number): IntegrityReport => ({ violations: [], nulls: [{ feature: 'age', nulls: n, rows, trainingNullRate: 0.01 }] });
    counts.add(nulls(1, 10)); // 10%, but only 10 rows
    expect(counts.counts.null_spike).toBe(0);
    counts.add(nulls(4, 10)); // 5 of 20: spikes, and the 5 count
    expect(counts.counts.null_spike).toBe(5);
    counts.add(nulls(2, 10));
    expect(counts.counts.null_spike).toBe(7);
    expect(counts.features.get('age')).toMatchObject({ nulls: 7, rows: 30, spiking: true, counts: { null_spike: 7 } });
    expect(counts.features.get('age')!.detail).toMatch(/^null share 0\.250 in the window against 0\.010 in training/);
  });

  it('should not spike on a null rate like training', () => {
    const counts = new IntegrityCounts();
    for (let i = 0; i < 100; i++) counts.add({ violations: [], nulls: [{ feature: 'age', nulls: i % 10 === 0 ? 1 : 0, rows: 1, trainingNullRate: 0.1 }] });
    expect(counts.counts.null_spike).toBe(0);
  });
});

describe('MonitorWindow integrity', () => {
  it('should count per kind and per feature, round-trip through JSON and merge', () => {
    const w = new MonitorWindow('m', 1, 0, 60);
    const { report } = inspect([age([200, 30]), city(['berlin', 'paris']), visits([1, 1])]);
    w.integrity.add(report);
    const back = MonitorWindow.fromJSON(JSON.parse(JSON.stringify(w.toJSON())));
    expect(back.integrity.counts).toEqual({ missing_feature: 0, unexpected_feature: 0, type_mismatch: 0, new_category: 1, out_of_range: 1, null_spike: 0 });
    back.merge(w.toJSON());
    expect(back.integrity.counts.out_of_range).toBe(2);
    expect(back.integrity.features.get('city')!.counts).toEqual({ new_category: 2 });
    expect(back.integrity.features.get('city')!.detail).toBe('1 value(s) in categories not seen in training (e.g. "berlin"); served: as sent');
    // Windows stored before integrity was counted still load.
    const { integrity: _counts, integrityFeatures: _features, ...old } = w.toJSON();
    expect(MonitorWindow.fromJSON(old).integrity.counts.out_of_range).toBe(0);
  });
});

describe('Monitor status integrity', () => {
  it('should report counts per kind and per feature over the span, closed windows and refused requests included', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-integrity-'));
    const merge = (a: WindowState, b: WindowState): WindowState => {
      const w = MonitorWindow.fromJSON(a);
      w.merge(b);
      return w.toJSON();
    };
    const store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), merge);
    let clock = 1_700_000_000_000;
    const version = { model: 'churn', version: 1, signature: SIGNATURE, metadata: {} };
    const registry = {
      getVersion: (_m: string, v: number) => (v === 1 ? version : undefined),
      getProfile: () => PROFILE,
      getModel: () => ({ name: 'churn', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
    } as unknown as Registry;
    const monitor = new Monitor(registry, store, { windowSeconds: 60, now: () => clock });
    try {
      const observe = (inputs: RequestTensor[], policy: Partial<IntegrityPolicy> = {}, shadow = false): void => {
        const { inputs: checked, report, refusal } = inspect(inputs, policy);
        monitor.observe({
          model: 'churn',
          version: 1,
          requestId: String(clock),
          shadow,
          inputs: checked,
          outputs: refusal ? null : [{ name: 'label', datatype: 'INT64', shape: [checked[0]!.shape[0]!], data: new BigInt64Array(checked[0]!.shape[0]!) }],
          error: refusal,
          latencyMs: 1,
          at: clock,
          integrity: report
        });
      };
      observe([age([200, 30]), city(['berlin', 'paris']), visits([1, 1])]);
      observe([city(['paris']), visits([1])]); // refused: missing age
      clock += 61_000; // the first window closes and is stored
      observe([json('age', 'FP32', ['40,5']), city(['paris']), visits([1])]);
      observe([age([200]), city(['paris']), visits([1])], {}, true); // shadow traffic is not counted
      const s = monitor.status('churn', 900);
      expect(s.integrity).toEqual({ missing_feature: 1, unexpected_feature: 0, type_mismatch: 1, new_category: 1, out_of_range: 1, null_spike: 0 });
      expect(s.ops.errors_by_code).toEqual({ NBD_ERR_INTEGRITY_REFUSED: 1 });
      expect(s.integrity_features.age).toMatchObject({ counts: { out_of_range: 1, missing_feature: 1, type_mismatch: 1 }, null_share: 0 });
      expect(s.integrity_features.age!.detail).toBe('comma decimals ("40,5" read as 40.5); served: coerced to FP32');
      expect(s.versions[0]!.integrity.out_of_range).toBe(1);
      // A span that covers only the second window.
      expect(monitor.status('churn', 5).integrity.type_mismatch).toBe(1);
      expect(monitor.status('churn', 5).integrity.out_of_range).toBe(0);
    } finally {
      monitor.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
