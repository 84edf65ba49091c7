/**
 * A model's output tensors read by its signature: labels and scores (classifiers) or values
 * (regressors). The service's validation reads the answers of the version it validates
 * with it, and the TypeScript notebook API its predictions.
 */
import { type Tensor, tensorValues } from '../protocol/datatypes.js';

export type ClassLabel = number | string;

/** Which output holds what (nbdeploy's signature, recorded in the version's metadata). */
export interface OutputRoles {
  label_output: string | null;
  scores_output: string | null;
  value_output: string | null;
}

export interface ModelOutputs {
  labels: ClassLabel[] | null;
  /** One row of class scores per input row. */
  scores: number[][] | null;
  /** One value per row ([N] or [N, 1] outputs), else one row of values per row. */
  values: number[] | number[][] | null;
}

function rowsOf(tensor: Tensor): number[][] {
  const flat = tensorValues(tensor).map(Number);
  const width = tensor.shape.length > 1 ? tensor.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(flat.slice(i, i + width));
  return out;
}

export function readOutputs(signature: OutputRoles, outputs: readonly Tensor[]): ModelOutputs {
  const byName = new Map(outputs.map((t) => [t.name, t]));
  const label = signature.label_output ? byName.get(signature.label_output) : undefined;
  const scores = signature.scores_output ? byName.get(signature.scores_output) : undefined;
  const value = signature.value_output ? byName.get(signature.value_output) : undefined;
  let values: ModelOutputs['values'] = null;
  if (value) {
    const single = value.shape.length === 1 || (value.shape.length === 2 && value.shape[1] === 1);
    values = single ? tensorValues(value).map(Number) : rowsOf(value);
  }
  return {
    labels: label ? tensorValues(label).map((v) => (typeof v === 'string' ? v : Number(v))) : null,
    scores: scores ? rowsOf(scores) : null,
    values
  };
}
