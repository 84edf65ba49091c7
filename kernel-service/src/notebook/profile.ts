/**
 * The training-data profile a registered version carries, in the Python bridge's format
 * (python-bridge/nbdeploy/profile.py), so the service's monitoring (drift per feature,
 * prediction drift) and validation's data checks read it the same: per numeric feature the
 * null rate, min/max/mean/std, quantiles, a 20-bin histogram and a sample of at most 1000
 * values; per categorical feature the categories with their frequencies and the sample.
 */
import { seededRandom } from '../monitoring/accumulators.js';
import { columnsOf, type Cell, type Rows } from './rows.js';

const QUANTILES: Array<[string, number]> = [
  ['0.0', 0], ['0.01', 0.01], ['0.05', 0.05], ['0.25', 0.25], ['0.5', 0.5], ['0.75', 0.75], ['0.95', 0.95], ['0.99', 0.99], ['1.0', 1]
];
const HISTOGRAM_BINS = 20;
const SAMPLE_SIZE = 1000;
const MAX_CATEGORIES = 200;
/** Fixed, so the same data gives the same profile. */
const SEED = 20240917;

export type FeatureProfile = Record<string, unknown>;

export interface Profile {
  rows: number;
  features: Record<string, FeatureProfile>;
  prediction?: FeatureProfile;
  label?: FeatureProfile;
}

const isMissing = (v: Cell | undefined): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** Indices of a sample of at most SAMPLE_SIZE of n items, in their original order. */
function sampleIndices(n: number): number[] {
  if (n <= SAMPLE_SIZE) return Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(SEED);
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < SAMPLE_SIZE; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, SAMPLE_SIZE).sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The profile of one column of values; categorical unless every present value is a number. */
export function describe(values: readonly Cell[], categorical?: boolean): FeatureProfile {
  const n = values.length;
  const present = values.filter((v) => !isMissing(v));
  const out: FeatureProfile = { count: n, null_rate: n ? (n - present.length) / n : 0 };
  const isCategorical = categorical ?? !present.every((v) => typeof v === 'number');
  const take = sampleIndices(present.length);
  if (isCategorical) {
    const text = present.map((v) => String(v));
    const freq = new Map<string, number>();
    for (const t of text) freq.set(t, (freq.get(t) ?? 0) + 1);
    const ranked = [...freq].sort((a, b) => b[1] - a[1]);
    out.kind = 'categorical';
    out.categories = Object.fromEntries(ranked.slice(0, MAX_CATEGORIES).map(([k, c]) => [k, c / text.length]));
    out.other_rate = ranked.slice(MAX_CATEGORIES).reduce((a, [, c]) => a + c / text.length, 0);
    out.sample = take.map((i) => text[i]!);
    return out;
  }
  const x = present.map(Number);
  const finite = x.filter(Number.isFinite);
  out.kind = 'numeric';
  if (finite.length === 0) {
    Object.assign(out, { min: null, max: null, mean: null, std: null, quantiles: {}, histogram: { edges: [], counts: [] }, sample: [] });
    return out;
  }
  const sorted = [...finite].sort((a, b) => a - b);
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const top = hi > lo ? hi : lo + 1;
  const edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, i) => lo + ((top - lo) * i) / HISTOGRAM_BINS);
  edges[HISTOGRAM_BINS] = top;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const v of finite) {
    // numpy.histogram: half-open bins, the last one closed
    let b = Math.floor(((v - lo) / (top - lo)) * HISTOGRAM_BINS);
    if (b >= HISTOGRAM_BINS) b = HISTOGRAM_BINS - 1;
    counts[b]!++;
  }
  const m = finite.reduce((a, b) => a + b, 0) / finite.length;
  const variance = finite.length > 1 ? finite.reduce((a, v) => a + (v - m) ** 2, 0) / (finite.length - 1) : 0;
  Object.assign(out, {
    min: lo,
    max: hi,
    mean: m,
    std: Math.sqrt(variance),
    quantiles: Object.fromEntries(QUANTILES.map(([k, q]) => [k, quantile(sorted, q)])),
    histogram: { edges, counts },
    sample: take.map((i) => x[i]!)
  });
  return out;
}

/** The profile of each feature of the rows (categorical: the features to treat as categories whatever their values). */
export function profileRows(rows: Rows, featureNames: readonly string[] | null, categorical: ReadonlySet<string> = new Set()): Profile {
  const features: Record<string, FeatureProfile> = {};
  for (const [name, values] of columnsOf(rows, featureNames)) {
    features[name] = describe(values, categorical.has(name) ? true : undefined);
  }
  return { rows: rows.length, features };
}
