/**
 * Notebook data — rows as arrays (`[[5.1, 3.5, …], …]`) or as records
 * (`[{ sepal_length: 5.1, … }, …]`) — as the model's input tensors, from its signature alone
 * (the two layouts of python-bridge/nbdeploy/_inputs.py): "matrix", one input [N, F] in
 * feature order; "columns", one input [N, 1] per feature. Missing numbers (null) travel as
 * NaN, missing categories as "" — as the Python bridge sends them.
 */
import { type Tensor, tensorFromJson } from '../protocol/datatypes.js';
import { ServiceError as ProtocolError } from '../errors.js';
import { InputError } from './errors.js';
import type { InputSpec, ModelSignature } from './signature.js';

export type Cell = number | string | boolean | null;
/** One row: values in feature order, or a record keyed by feature name. */
export type Row = readonly Cell[] | Readonly<Record<string, Cell>>;
export type Rows = readonly Row[];

const isRecord = (row: Row): row is Readonly<Record<string, Cell>> => !Array.isArray(row);

/** Checks that rows are all arrays or all records, and returns how many. */
export function checkRows(rows: unknown, what = 'the data'): Rows {
  if (!Array.isArray(rows)) throw new InputError(`${what} must be an array of rows (arrays or records), got ${typeof rows}`);
  if (rows.length === 0) throw new InputError(`${what} has no rows`);
  const records = isRecord(rows[0] as Row);
  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || isRecord(row as Row) !== records) {
      const kind = row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row === 'object' ? 'a record' : `a ${typeof row}`;
      throw new InputError(`${what}: row ${i} is ${kind}; give every row as ${records ? 'a record' : 'an array'}, like row 0`);
    }
  });
  return rows as Rows;
}

/** The rows as columns of values, by feature name. */
export function columnsOf(rows: Rows, featureNames: readonly string[] | null): Map<string, Cell[]> {
  const out = new Map<string, Cell[]>();
  const first = rows[0]!;
  if (isRecord(first)) {
    const names = featureNames ?? Object.keys(first);
    for (const name of names) out.set(name, rows.map((r) => (r as Record<string, Cell>)[name] ?? null));
    return out;
  }
  const width = (first as Cell[]).length;
  const names = featureNames && featureNames.length === width ? featureNames : Array.from({ length: width }, (_, i) => `x${i}`);
  names.forEach((name, j) => out.set(name, rows.map((r) => (r as Cell[])[j] ?? null)));
  return out;
}

function element(value: Cell, spec: InputSpec, feature: string, row: number): Cell {
  if (spec.datatype === 'BYTES') return value === null ? '' : String(value);
  if (spec.datatype === 'BOOL') return value;
  if (value === null || (typeof value === 'number' && Number.isNaN(value))) return spec.datatype.startsWith('FP') ? 'NaN' : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new InputError(`feature "${feature}" must be numeric (${spec.datatype}); row ${row} holds ${JSON.stringify(value)}`);
}

function tensor(spec: InputSpec, shape: number[], data: Cell[]): Tensor {
  try {
    return tensorFromJson(spec.name, spec.datatype, shape, data);
  } catch (error) {
    if (error instanceof ProtocolError) throw new InputError(error.message);
    throw error;
  }
}

/** The model's input tensors for the rows. */
export function buildInputs(signature: ModelSignature, rows: Rows): Tensor[] {
  const n = rows.length;
  const first = rows[0]!;
  if (signature.layout === 'columns') {
    const names = signature.inputs.map((i) => i.name);
    if (isRecord(first)) {
      const missing = names.filter((name) => !(name in first));
      if (missing.length) {
        throw new InputError(`the rows have no field ${missing.map((m) => `"${m}"`).join(', ')}; the model takes ${names.map((m) => `"${m}"`).join(', ')}`);
      }
    } else if ((first as Cell[]).length !== names.length) {
      throw new InputError(`rows have ${(first as Cell[]).length} values but the model takes ${names.length} features (${names.join(', ')})`);
    }
    const columns = columnsOf(rows, names);
    return signature.inputs.map((spec) =>
      tensor(spec, [n, 1], columns.get(spec.name)!.map((v, i) => element(v, spec, spec.name, i)))
    );
  }
  if (signature.inputs.length !== 1) {
    throw new InputError(`the model takes ${signature.inputs.length} inputs (${signature.inputs.map((i) => i.name).join(', ')}); give rows as records keyed by them`);
  }
  const spec = signature.inputs[0]!;
  const width = spec.shape.length === 2 ? spec.shape[1]! : -1;
  const names = signature.feature_names;
  let matrix: Cell[][];
  if (isRecord(first)) {
    if (!names) throw new InputError(`the model has no feature names to read records by; give rows as arrays of ${width > 0 ? width : 'its'} values`);
    const missing = names.filter((name) => !(name in first));
    if (missing.length) {
      throw new InputError(`the rows have no field ${missing.slice(0, 5).map((m) => `"${m}"`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}; the model takes ${names.length} features: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`);
    }
    matrix = rows.map((r) => names.map((name) => (r as Record<string, Cell>)[name] ?? null));
  } else {
    matrix = rows.map((r) => [...(r as Cell[])]);
  }
  matrix.forEach((r, i) => {
    if (width > 0 && r.length !== width) {
      throw new InputError(`row ${i} has ${r.length} values; the model's input "${spec.name}" takes ${width} per row`);
    }
  });
  const rowWidth = matrix[0]!.length;
  return [tensor(spec, [n, rowWidth], matrix.flatMap((r, i) => r.map((v, j) => element(v, spec, names?.[j] ?? `x${j}`, i))))];
}
