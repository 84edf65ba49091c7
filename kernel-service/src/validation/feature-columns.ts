/**
 * The validation rows as named feature columns, read from the input tensors the service ran:
 * one input [N, 1] (or [N]) per feature ("columns" layout), or one input [N, F] whose columns
 * are the signature's feature names ("matrix" layout; x0, x1, … without names). Slices and
 * the data checks read these columns.
 */
import { type Tensor, tensorValues } from '../protocol/datatypes.js';

export type FeatureValue = number | string | boolean | null;
export type FeatureColumns = Map<string, FeatureValue[]>;

function element(v: number | bigint | boolean | string): FeatureValue {
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export function featureColumns(inputs: readonly Tensor[], featureNames: readonly string[] | null, rows: number): FeatureColumns {
  const out: FeatureColumns = new Map();
  for (const tensor of inputs) {
    const values = tensorValues(tensor).map(element);
    const width = tensor.shape.length > 1 ? tensor.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    if (width === 1) {
      out.set(tensor.name, values);
      continue;
    }
    const names = inputs.length === 1 && featureNames?.length === width ? featureNames : Array.from({ length: width }, (_, j) => (inputs.length === 1 ? `x${j}` : `${tensor.name}[${j}]`));
    names.forEach((name, j) => out.set(name, Array.from({ length: rows }, (_, i) => values[i * width + j] ?? null)));
  }
  return out;
}
