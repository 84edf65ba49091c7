/**
 * A model's signature — its inputs and outputs with datatypes and shapes — and the check
 * of a request's tensors against it. Dimensions the model leaves free are -1.
 */
import { ServiceError } from '../errors.js';
import { type Datatype, type Tensor, datatypeOfOrt } from '../protocol/datatypes.js';

export interface TensorSpec {
  name: string;
  datatype: Datatype;
  /** -1 where the model leaves a dimension free (a symbolic or unknown dimension). */
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** True when every input and output has a free first dimension: rows can be batched. */
  batchable: boolean;
}

/** onnxruntime's value metadata, as `InferenceSession.inputMetadata` gives it. */
export interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export function signatureFromOrt(
  inputs: readonly OrtValueMetadata[],
  outputs: readonly OrtValueMetadata[]
): Signature {
  const spec = (meta: OrtValueMetadata, role: 'input' | 'output'): TensorSpec => {
    const datatype = meta.isTensor && meta.type ? datatypeOfOrt(meta.type) : undefined;
    if (!datatype) {
      throw new ServiceError('NBD_ERR_MODEL_INVALID', {
        reason: `${role} "${meta.name}" is ${meta.isTensor ? `a tensor of ${meta.type}` : 'not a tensor (a sequence or map)'}; nbdeploy serves tensors of the Open Inference Protocol datatypes`
      });
    }
    const shape = (meta.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
    return { name: meta.name, datatype, shape };
  };
  const ins = inputs.map((m) => spec(m, 'input'));
  const outs = outputs.map((m) => spec(m, 'output'));
  const freeFirst = (s: TensorSpec): boolean => s.shape.length > 0 && s.shape[0] === -1;
  return { inputs: ins, outputs: outs, batchable: ins.every(freeFirst) && outs.every(freeFirst) };
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => (d === -1 ? 'N' : String(d))).join(', ')}]`;
}

function describe(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}" (${s.datatype} ${formatShape(s.shape)})`).join(', ');
}

/**
 * Checks request tensors against the signature and returns them in the model's input
 * order. Errors name the input and say what was expected.
 */
export function checkInputs(model: string, signature: Signature, tensors: readonly Tensor[]): Tensor[] {
  const byName = new Map<string, Tensor>();
  for (const t of tensors) {
    byName.set(t.name, t);
  }
  if (byName.size !== tensors.length) {
    const seen = new Set<string>();
    const dup = tensors.find((t) => (seen.has(t.name) ? true : (seen.add(t.name), false)))!;
    throw new ServiceError('NBD_ERR_INPUT_DATA', { name: dup.name, reason: 'the input is given twice' });
  }
  for (const t of tensors) {
    if (!signature.inputs.some((s) => s.name === t.name)) {
      throw new ServiceError('NBD_ERR_INPUT_UNEXPECTED', { name: t.name, model, expected: describe(signature.inputs) });
    }
  }
  return signature.inputs.map((spec) => {
    const t = byName.get(spec.name);
    if (!t) {
      throw new ServiceError('NBD_ERR_INPUT_MISSING', { name: spec.name, model, expected: describe([spec]) });
    }
    if (t.datatype !== spec.datatype) {
      throw new ServiceError('NBD_ERR_INPUT_DATATYPE', { name: spec.name, model, actual: t.datatype, expected: spec.datatype });
    }
    const fits =
      t.shape.length === spec.shape.length && spec.shape.every((d, i) => d === -1 || d === t.shape[i]);
    if (!fits) {
      throw new ServiceError('NBD_ERR_INPUT_SHAPE', {
        name: spec.name,
        model,
        actual: formatShape(t.shape),
        expected: formatShape(spec.shape)
      });
    }
    return t;
  });
}

/** The requested outputs' names, checked; all outputs when none are requested. */
export function selectOutputs(model: string, signature: Signature, requested?: ReadonlyArray<{ name: string }>): string[] {
  const all = signature.outputs.map((o) => o.name);
  if (!requested || requested.length === 0) {
    return all;
  }
  return requested.map(({ name }) => {
    if (!all.includes(name)) {
      throw new ServiceError('NBD_ERR_OUTPUT_NOT_FOUND', { name, model, expected: describe(signature.outputs) });
    }
    return name;
  });
}
