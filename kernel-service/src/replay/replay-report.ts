/**
 * What a replay found, from the rows it compared: agreement with what was served (labels
 * equal, or values within 1e-6), the changed rows by feature range or category, metrics of
 * both answers where ground truth arrived, and latency side by side. Pure: replay-run.ts
 * gathers the rows.
 */
import { categoryOf } from '../monitoring/version-plan.js';

/** Regressors' answers agree when they differ by at most this much. */
export const VALUE_TOLERANCE = 1e-6;
/** A feature range or category needs this many rows for its changed share to be ranked. */
const MIN_BIN_ROWS = 5;
const MAX_CATEGORIES = 10;

/** One answer: a class label (classifiers) or a value (regressors). */
export type Answer = { label: string | null } | { value: number | null };

export interface ReplayedRow {
  features: Record<string, number | string | null>;
  served: Answer;
  candidate: Answer;
  /** Ground truth received for the row (feedback), if any. */
  truth?: unknown;
}

export interface FeatureBin {
  bin: string;
  rows: number;
  changed: number;
  changed_share: number;
}

/** Both answers against the ground truth received, with `delta` = candidate − served. */
export interface ReplayMetrics {
  rows: number;
  served: Record<string, number>;
  candidate: Record<string, number>;
  delta: Record<string, number>;
}

export interface ReplaySummary {
  rows: number;
  agreement: number | null;
  changed: number;
  /** Per feature, the changed rows by range (quartiles of the replayed values) or category; features whose bins differ most first. */
  by_feature: Array<{ feature: string; kind: 'numeric' | 'categorical'; bins: FeatureBin[] }>;
  /** Both answers against the ground truth received (null when none arrived). */
  metrics: ReplayMetrics | null;
  latency_ms: { served: Percentiles | null; candidate: Percentiles | null };
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export function agrees(a: Answer, b: Answer): boolean {
  if ('label' in a && 'label' in b) return a.label === b.label;
  if ('value' in a && 'value' in b) {
    if (a.value === null || b.value === null) return a.value === b.value;
    return Math.abs(a.value - b.value) <= VALUE_TOLERANCE;
  }
  return false;
}

export function summarize(rows: readonly ReplayedRow[], latency: { served: number[]; candidate: number[] }): ReplaySummary {
  const changedFlags = rows.map((r) => !agrees(r.served, r.candidate));
  const changed = changedFlags.filter(Boolean).length;
  return {
    rows: rows.length,
    agreement: rows.length === 0 ? null : (rows.length - changed) / rows.length,
    changed,
    by_feature: byFeature(rows, changedFlags),
    metrics: metrics(rows),
    latency_ms: { served: percentiles(latency.served), candidate: percentiles(latency.candidate) }
  };
}

function byFeature(rows: readonly ReplayedRow[], changed: readonly boolean[]): ReplaySummary['by_feature'] {
  const names = rows.length > 0 ? Object.keys(rows[0]!.features) : [];
  const out: Array<ReplaySummary['by_feature'][number] & { spread: number }> = [];
  for (const feature of names) {
    const values = rows.map((r) => r.features[feature] ?? null);
    const numeric = values.every((v) => v === null || typeof v === 'number');
    const { binOf, order } = numeric ? numericBins(values as Array<number | null>) : categoricalBins(values);
    const bins = new Map<string, FeatureBin>();
    values.forEach((v, i) => {
      const bin = binOf(v);
      let b = bins.get(bin);
      if (!b) bins.set(bin, (b = { bin, rows: 0, changed: 0, changed_share: 0 }));
      b.rows++;
      if (changed[i]) b.changed++;
    });
    // In the bins' own order (low ranges first; categories most frequent first), not by share.
    const list = order.flatMap((bin) => {
      const b = bins.get(bin);
      return b ? [{ ...b, changed_share: b.changed / b.rows }] : [];
    });
    const ranked = list.filter((b) => b.rows >= MIN_BIN_ROWS).map((b) => b.changed_share);
    const spread = ranked.length > 1 ? Math.max(...ranked) - Math.min(...ranked) : 0;
    out.push({ feature, kind: numeric ? 'numeric' : 'categorical', bins: list, spread });
  }
  return out.sort((a, b) => b.spread - a.spread).map(({ spread: _spread, ...f }) => f);
}

/** How a feature's values fall into bins, and the bins in the order they are shown. */
interface Binning {
  binOf: (v: number | string | null) => string;
  order: string[];
}

/** Quartile ranges of the replayed values, low to high ("missing" for nulls, last). */
function numericBins(values: ReadonlyArray<number | null>): Binning {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return { binOf: () => 'missing', order: ['missing'] };
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const edges = [...new Set([at(0.25), at(0.5), at(0.75)])];
  const label = (lo: number | null, hi: number | null): string =>
    lo === null ? `≤ ${fmt(hi!)}` : hi === null ? `> ${fmt(lo)}` : `(${fmt(lo)}, ${fmt(hi)}]`;
  const order = [...edges.map((e, i) => label(i === 0 ? null : edges[i - 1]!, e)), label(edges.at(-1)!, null), 'missing'];
  const binOf = (v: number | string | null): string => {
    if (v === null || typeof v !== 'number') return 'missing';
    const i = edges.findIndex((e) => v <= e);
    return i < 0 ? label(edges.at(-1)!, null) : label(i === 0 ? null : edges[i - 1]!, edges[i]!);
  };
  return { binOf, order };
}

/** The most frequent categories, most frequent first, then "other" and "missing". */
function categoricalBins(values: ReadonlyArray<number | string | null>): Binning {
  const counts = new Map<string, number>();
  for (const v of values) {
    const c = categoryOf(v) ?? 'missing';
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_CATEGORIES).map(([c]) => c);
  const top = new Set(ranked);
  const binOf = (v: number | string | null): string => {
    const c = categoryOf(v) ?? 'missing';
    return top.has(c) ? c : 'other';
  };
  return { binOf, order: [...new Set([...ranked.filter((c) => c !== 'missing'), 'other', 'missing'])] };
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}

function metrics(rows: readonly ReplayedRow[]): ReplaySummary['metrics'] {
  const labelled = rows.filter((r) => r.truth !== undefined && r.truth !== null);
  if (labelled.length === 0) return null;
  const classification = 'label' in labelled[0]!.served;
  const score = (pick: (r: ReplayedRow) => Answer): Record<string, number> => {
    if (classification) {
      const correct = labelled.filter((r) => (pick(r) as { label: string | null }).label === categoryOf(r.truth)).length;
      return { accuracy: correct / labelled.length };
    }
    const errors = labelled.map((r) => ((pick(r) as { value: number | null }).value ?? Number.NaN) - Number(r.truth));
    return {
      mae: errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length,
      rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length)
    };
  };
  const served = score((r) => r.served);
  const candidate = score((r) => r.candidate);
  const delta = Object.fromEntries(Object.keys(served).map((k) => [k, candidate[k]! - served[k]!]));
  return { rows: labelled.length, served, candidate, delta };
}

function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
