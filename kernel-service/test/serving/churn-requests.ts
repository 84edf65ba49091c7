/** A churn model's requests for the admission and integrity tests: one input per DataFrame column. */
import { DEFAULT_INTEGRITY_POLICY, type IntegrityPolicy, type IntegrityReport } from '../../src/protocol/integrity.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import type { Signature } from '../../src/runtime/signature.js';
import { IntegrityPlan, type RequestTensor, decodeJsonInput, inspectRequest } from '../../src/serving/admission.js';

// A model exported from a DataFrame: one input per column, named like the feature.
export const SIGNATURE: Signature = {
  inputs: [
    { name: 'age', datatype: 'FP32', shape: [-1, 1] },
    { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
    { name: 'visits', datatype: 'INT64', shape: [-1, 1] }
  ],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
  batchable: true
};
export const PROFILE = {
  features: {
    age: { kind: 'numeric', min: 20, max: 70, null_rate: 0.01 },
    city: { kind: 'categorical', categories: { paris: 0.5, lyon: 0.5 }, other_rate: 0, null_rate: 0 },
    visits: { kind: 'numeric', min: 0, max: 10, null_rate: 0 }
  }
};
export const plan = new IntegrityPlan('churn', SIGNATURE, PROFILE);

export const age = (values: number[]): Tensor => ({ name: 'age', datatype: 'FP32', shape: [values.length, 1], data: Float32Array.from(values) });
export const city = (values: string[]): Tensor => ({ name: 'city', datatype: 'BYTES', shape: [values.length, 1], data: values });
export const visits = (values: number[]): Tensor => ({ name: 'visits', datatype: 'INT64', shape: [values.length, 1], data: BigInt64Array.from(values.map(BigInt)) });
export const json = (name: string, datatype: Tensor['datatype'], values: unknown[]): RequestTensor => decodeJsonInput(name, datatype, [values.length, 1], values);

export const inspect = (inputs: RequestTensor[], policy: Partial<IntegrityPolicy> = {}) => inspectRequest(plan, { ...DEFAULT_INTEGRITY_POLICY, ...policy }, inputs);
export const kinds = (report: IntegrityReport) => report.violations.map((v) => [v.kind, v.feature, v.rows]);
export const values = (t: Tensor | undefined) => Array.from(t!.data as ArrayLike<unknown>);
