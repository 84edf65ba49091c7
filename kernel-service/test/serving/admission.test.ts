import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import { DEFAULT_INTEGRITY_POLICY } from '../../src/protocol/integrity.js';
import { IntegrityPlan, type RequestTensor, decodeJsonInput, inspectRequest } from '../../src/serving/admission.js';
import { PROFILE, SIGNATURE, age, city, inspect, json, kinds, plan, values, visits } from './churn-requests.js';

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
      expect(report.violations[0]!.detail).toBe('3 value(s) outside the training range [20, 70] widened by 10% (e.g. 14.9)');
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

  describe('personal data', () => {
    // The model card flags every feature: no detail may name a value sent for them.
    const personal = new IntegrityPlan('churn', SIGNATURE, PROFILE, new Set(['age', 'city', 'visits']));
    const check = (inputs: RequestTensor[]) => inspectRequest(personal, DEFAULT_INTEGRITY_POLICY, inputs).report;

    it('should count out-of-range values, new categories and type mismatches without naming the values', () => {
      const report = check([json('age', 'FP32', ['14.9', '30']), city(['berlin', 'paris']), visits([1, 2])]);
      expect(kinds(report)).toEqual([
        ['type_mismatch', 'age', 2],
        ['out_of_range', 'age', 1],
        ['new_category', 'city', 1]
      ]);
      const details = report.violations.map((v) => v.detail);
      expect(details).toEqual([
        'values that are not FP32 (values not shown: personal data)',
        '1 value(s) outside the training range [20, 70] widened by 10% (values not shown: personal data)',
        '1 value(s) in categories not seen in training (values not shown: personal data)'
      ]);
      for (const detail of details) for (const sent of ['14.9', 'berlin', '30']) expect(detail).not.toContain(sent);
    });
  });
});
