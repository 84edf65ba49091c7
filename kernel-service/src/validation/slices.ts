/**
 * Slices of the validation rows, each scored on its own: explicit named boolean masks
 * (`{"young": [true, false, …]}`), or feature names — one slice per category, or per
 * quartile of a numeric feature with more than 10 distinct values (as pandas.qcut(values, 4):
 * (lo, hi] bins, the first one closed). A slice with fewer than 10 rows gets no metrics.
 */
import { ServiceError } from '../errors.js';
import { percentile } from './bootstrap.js';
import type { FeatureColumns } from './feature-columns.js';

export const SLICE_MIN_ROWS = 10;
const QUARTILE_MIN_DISTINCT = 10;

export type SliceRequest = Record<string, readonly boolean[]> | readonly string[];

const badSlice = (issue: string): ServiceError => new ServiceError('NBD_ERR_BAD_REQUEST', { issues: issue });

/** Named row indices. */
export function sliceRows(columns: FeatureColumns, rows: number, slices: SliceRequest | undefined): Array<[string, number[]]> {
  if (!slices) return [];
  if (!Array.isArray(slices)) {
    return Object.entries(slices as Record<string, readonly boolean[]>).map(([name, mask]) => {
      if (mask.length !== rows) throw badSlice(`slice "${name}" has ${mask.length} entries for ${rows} rows; give one true/false per row`);
      return [name, mask.flatMap((m, i) => (m ? [i] : []))];
    });
  }
  const out: Array<[string, number[]]> = [];
  for (const column of slices as readonly string[]) {
    const values = columns.get(column);
    if (!values) {
      const known = [...columns.keys()];
      throw badSlice(`slice column "${column}" is not a feature of the validation data; it has ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}`);
    }
    const numbers = values.every((v) => typeof v === 'number');
    if (numbers && new Set(values).size > QUARTILE_MIN_DISTINCT) {
      const x = values as number[];
      const edges = [...new Set([0, 25, 50, 75, 100].map((q) => percentile(x, q)))];
      for (let b = 0; b + 1 < edges.length; b++) {
        const lo = edges[b]!;
        const hi = edges[b + 1]!;
        const idx = x.flatMap((v, i) => ((b === 0 ? v >= lo : v > lo) && v <= hi ? [i] : []));
        out.push([`${column} in (${Number(lo.toPrecision(4))}, ${Number(hi.toPrecision(4))}]`, idx]);
      }
    } else {
      for (const level of new Set(values.filter((v) => v !== null && v !== ''))) {
        out.push([`${column} = ${level}`, values.flatMap((v, i) => (v === level ? [i] : []))]);
      }
    }
  }
  return out;
}
