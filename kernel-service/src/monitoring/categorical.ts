/**
 * Categorical features for the drift statistics: counts per category, lined up over the
 * union of the categories that reference and current data hold, as Evidently does before
 * its chi-square, Jensen–Shannon and PSI tests.
 */

/** How many times each category occurs: a Map, or a plain object as stored in JSON profiles. */
export type CategoryCounts<K = string> = ReadonlyMap<K, number> | Readonly<Record<string, number>>;

/** Counts of the same categories, index for index. */
export interface AlignedCounts<K = string> {
  readonly categories: K[];
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/** Counts the values; null and undefined are missing values and are not counted (Evidently drops NaN). */
export function countCategories<K>(values: Iterable<K | null | undefined>): Map<K, number> {
  const counts = new Map<K, number>();
  for (const value of values) {
    if (value === null || value === undefined) continue;
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

/**
 * Both counts over the union of categories: the reference's first (in its order), then those
 * only the current data has. A category counted zero times in both is left out, since
 * Evidently only ever sees categories that occur, and it would add 0/0 to chi-square.
 */
export function alignCounts<K = string>(reference: CategoryCounts<K>, current: CategoryCounts<K>): AlignedCounts<K> {
  const ref = checkedCounts(reference, 'reference');
  const cur = checkedCounts(current, 'current');
  const categories = [...new Set([...ref.keys(), ...cur.keys()])].filter((k) => (ref.get(k) ?? 0) > 0 || (cur.get(k) ?? 0) > 0);
  return {
    categories,
    reference: Float64Array.from(categories, (k) => ref.get(k) ?? 0),
    current: Float64Array.from(categories, (k) => cur.get(k) ?? 0)
  };
}

/** Each count divided by the total (Evidently's `value_counts() / len(data)`). */
export function toFrequencies(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (!(total > 0)) throw new RangeError('category counts must have a positive total');
  return Float64Array.from(counts, (c) => c / total);
}

function checkedCounts<K>(counts: CategoryCounts<K>, name: string): Map<K, number> {
  const entries = counts instanceof Map ? [...counts.entries()] : (Object.entries(counts) as [K, number][]);
  for (const [category, count] of entries) {
    if (!Number.isFinite(count) || count < 0) {
      throw new RangeError(`${name} count of category "${String(category)}" must be a finite number ≥ 0, got ${count}`);
    }
  }
  return new Map(entries);
}
