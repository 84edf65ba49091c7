/**
 * Captured requests as a table, one row per served row: when, which request (`<id>#<row>` for
 * a request of several rows, as feedback names them), the version, then the features (named
 * as the training profile names the input's columns, else `input` or `input[j]`), then the
 * answers (`output` or `output[j]`). Columns appear in the order first met; a version whose
 * tensors differ adds its own. What clients turn into a DataFrame.
 */
import type { Tensor } from '../protocol/datatypes.js';
import type { CapturedRequest, CapturedTensor } from './capture-store.js';
import { type VersionPlans, inputColumns } from './version-plan.js';

export interface CapturedTable {
  columns: string[];
  rows: Array<Array<number | string | null>>;
  /** Columns whose values are salted hashes of personal data. */
  hashed: string[];
  /** The columns of the inputs (the features), in order. */
  inputs: string[];
  requests: number;
}

const LEADING = ['at', 'request_id', 'version'];

/** `plans` must hold the plans of the requests' versions (VersionPlans.load). */
export function capturedTable(requests: readonly CapturedRequest[], plans: VersionPlans): CapturedTable {
  const names = [...LEADING];
  const columns = new Map<string, number>(names.map((c, i) => [c, i]));
  const hashed = new Set<string>();
  const inputs = new Set<string>();
  const records: Array<Map<number, number | string | null>> = [];
  const column = (name: string): number => {
    let index = columns.get(name);
    if (index === undefined) {
      columns.set(name, (index = names.length));
      names.push(name);
    }
    return index;
  };
  for (const request of requests) {
    const plan = plans.get(request.model, request.version);
    const layout = (tensors: readonly CapturedTensor[], isInput: boolean): Array<{ tensor: CapturedTensor; indexes: number[]; width: number }> =>
      tensors.map((t) => {
        const width = t.shape.length === 2 ? t.shape[1]! : t.shape.length <= 1 ? 1 : t.shape.slice(1).reduce((a, b) => a * b, 1);
        const features = isInput && plan ? inputColumns(plan, t as unknown as Tensor, tensors.length) : null;
        const indexes = Array.from({ length: width }, (_, j) => column(features?.[j]?.name ?? (width === 1 ? t.name : `${t.name}[${j}]`)));
        for (const j of t.hashed ?? []) if (indexes[j] !== undefined) hashed.add(names[indexes[j]]!);
        if (isInput) for (const i of indexes) inputs.add(names[i]!);
        return { tensor: t, indexes, width };
      });
    const parts = [...layout(request.inputs, true), ...layout(request.outputs, false)];
    const at = new Date(request.at).toISOString();
    for (let r = 0; r < request.rows; r++) {
      const values = new Map<number, number | string | null>([
        [0, at],
        [1, request.rows === 1 ? request.requestId : `${request.requestId}#${r}`],
        [2, request.version]
      ]);
      for (const { tensor, indexes, width } of parts) {
        for (let j = 0; j < width; j++) values.set(indexes[j]!, tensor.data[r * width + j] ?? null);
      }
      records.push(values);
    }
  }
  const width = names.length;
  return {
    columns: names,
    rows: records.map((values) => Array.from({ length: width }, (_, i) => values.get(i) ?? null)),
    hashed: [...hashed],
    inputs: names.filter((n) => inputs.has(n)),
    requests: requests.length
  };
}
