/**
 * Monitoring over time: the windows of a span cut into at most MAX_POINTS buckets (one or
 * more windows each), and per bucket the operations of the model (all versions, and each
 * version's share), the drift of each feature of the described version against its
 * training profile, the performance of the predictions whose ground truth has arrived,
 * integrity violations by kind, and the alerts of the span. Long-format rows at full
 * precision; monitor-chart.ts's `chartSeries` makes them the chart's compact datasets.
 */
import { OTHER_CATEGORY, type PerformanceState, emptyPerformance, mergePerformance, performanceMetrics } from './accumulators.js';
import { countCategories } from './categorical.js';
import { driftTest } from './drift-statistics.js';
import { MonitorWindow, Ops, type WindowState } from './window.js';
import type { AlertView } from './views.js';

/** Buckets per span at most: a chart of ~800 px stays readable, and a refresh stays cheap (drift tests per bucket × feature). */
export const MAX_POINTS = 60;
/** Features drawn in the drift panel at most (the most drifted first). */
export const MAX_CHART_FEATURES = 40;

export interface SeriesFeature {
  name: string;
  kind: 'numeric' | 'categorical';
  /** The training profile's sample of the feature; no drift without it. */
  reference: readonly unknown[] | undefined;
}

/** What the chart reads of an alert (`alerts.ts`'s AlertView; tests give only these fields). */
export type ChartAlert = Pick<AlertView, 'rule' | 'state' | 'fired_at'> &
  Partial<Pick<AlertView, 'metric' | 'severity' | 'value' | 'threshold' | 'resolved_at' | 'message' | 'version'>>;

export interface SeriesInput {
  /** The span: ms since the epoch. */
  from: number;
  to: number;
  windowSeconds: number;
  /** The stored and open windows of the model (any version) that overlap [from, to). */
  loadWindows: (from: number, to: number) => readonly WindowState[] | Promise<readonly WindowState[]>;
  /** Buckets that end at or before this time (ms) have all their windows stored: they may be cached. */
  settledBefore: number;
  /** Keeps settled buckets between calls; `cacheKey` says whose they are (e.g. the model). */
  cache?: SeriesCache;
  cacheKey?: string;
  /** The version whose drift and performance the series describe (null: none). */
  version: number | null;
  features: readonly SeriesFeature[];
  /** The performance of the described version over [from, to), by window start. */
  performance: (from: number, to: number) => readonly PerformanceState[] | Promise<readonly PerformanceState[]>;
  /** The positive class of a binary classifier, if known (the same for every bucket). */
  positive: string | null;
  alerts?: readonly ChartAlert[];
}

export interface OpsPoint {
  /** Bucket start and end, ms since the epoch. */
  t: number;
  t_end: number;
  requests: number;
  errors: number;
  error_rate: number | null;
  rows: number;
  throughput_per_s: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MonitorSeries {
  /** Seconds per bucket (a multiple of the window length). */
  bucket_seconds: number;
  /** Buckets that start before this (ms) are settled: all their windows stored, so they no longer change (bar performance). */
  settled_until: number;
  /** The profile's features, in its order (what drift rows name). */
  feature_names: string[];
  /** Served traffic of all versions, per bucket. */
  ops: OpsPoint[];
  /** Per bucket and version: served requests, rows, errors, throughput. */
  versions: Array<{ t: number; version: number; requests: number; rows: number; errors: number; throughput_per_s: number }>;
  /** Per bucket and error code. */
  errors: Array<{ t: number; code: string; count: number }>;
  /** Per bucket and feature of the described version (buckets with values only); `rank`: the feature's place in `drift_features`. */
  drift: Array<{ t: number; t_end: number; feature: string; rank: number; method: string; statistic: number; p_value: number | null; threshold: number; drifted: boolean }>;
  /** Per bucket: the share of tested features that drifted. */
  drift_share: Array<{ t: number; share: number; tested: number; drifted: number }>;
  /** Features in the drift series (at most MAX_CHART_FEATURES, most drifted first), and how many the profile has. */
  drift_features: string[];
  drift_features_total: number;
  /** Per bucket and metric (accuracy, f1, roc_auc or mae, rmse), from joined ground truth. */
  performance: Array<{ t: number; metric: string; value: number; labelled: number; labelled_share: number | null }>;
  /** Per bucket and kind (kinds with violations only); null when the span has none. */
  integrity: Array<{ t: number; kind: string; count: number }> | null;
  /** Alerts that fired or were resolved in the span, with ms times for the chart. */
  alerts: Array<ChartAlert & { t: number; t_end: number | null }>;
}

/** The bucket length for a span: whole windows, at most MAX_POINTS buckets. */
export function bucketSeconds(spanSeconds: number, windowSeconds: number): number {
  return windowSeconds * Math.max(1, Math.ceil(spanSeconds / windowSeconds / MAX_POINTS));
}

/** What one bucket's windows give (everything but performance, which late labels change). */
interface BucketPoints {
  ops: OpsPoint;
  versions: MonitorSeries['versions'];
  errors: MonitorSeries['errors'];
  drift: MonitorSeries['drift'];
  drift_share: MonitorSeries['drift_share'][number] | null;
  /** null: no window of the bucket had integrity violations. */
  integrity: Record<string, number> | null;
  /** Rows the described version served in the bucket (for the labelled share). */
  servedRows: number;
}

/**
 * Buckets whose windows are all closed and stored do not change: kept here so that a live
 * chart's refresh loads and tests only the buckets still open. Least recently used first out.
 */
export class SeriesCache {
  constructor(private readonly _max = 20_000) {}

  get size(): number {
    return this._entries.size;
  }

  /** @internal */
  get(key: string): BucketPoints | undefined {
    const hit = this._entries.get(key);
    if (hit) {
      this._entries.delete(key);
      this._entries.set(key, hit);
    }
    return hit;
  }

  /** @internal */
  set(key: string, value: BucketPoints): void {
    this._entries.set(key, value);
    while (this._entries.size > this._max) this._entries.delete(this._entries.keys().next().value!);
  }

  private readonly _entries = new Map<string, BucketPoints>();
}

export async function buildSeries(input: SeriesInput): Promise<MonitorSeries> {
  const { from, to, windowSeconds } = input;
  const bucket = bucketSeconds((to - from) / 1000, windowSeconds);
  const bucketMs = bucket * 1000;
  const first = Math.floor(from / bucketMs) * bucketMs;
  const starts: number[] = [];
  for (let t = first; t < to; t += bucketMs) starts.push(t);

  const keyOf = (t: number): string => `${input.cacheKey ?? ''}\u0000${input.version}\u0000${bucket}\u0000${t}`;
  const points = new Map<number, BucketPoints>();
  for (const t of starts) {
    const hit = input.cache?.get(keyOf(t));
    if (hit) points.set(t, hit);
  }
  const missing = starts.filter((t) => !points.has(t));
  if (missing.length > 0) {
    // Whole buckets: the first one's windows from its start, even those before `from`.
    const byBucket = new Map<number, WindowState[]>(missing.map((t) => [t, []]));
    for (const w of await input.loadWindows(missing[0]!, to)) byBucket.get(Math.floor(w.start / bucketMs) * bucketMs)?.push(w);
    const references = prepareReferences(input.features);
    for (const t of missing) {
      const computed = bucketPoints(input, references, t, bucket, Math.min(t + bucketMs, to), byBucket.get(t)!);
      points.set(t, computed);
      if (input.cache && t + bucketMs <= input.settledBefore) input.cache.set(keyOf(t), computed);
    }
  }

  const series: MonitorSeries = {
    bucket_seconds: bucket,
    // The first bucket not settled (buckets are settled up to the last whole one before settledBefore).
    settled_until: Math.min(Math.max(first, Math.floor(input.settledBefore / bucketMs) * bucketMs), first + starts.length * bucketMs),
    feature_names: input.features.map((f) => f.name),
    ops: [],
    versions: [],
    errors: [],
    drift: [],
    drift_share: [],
    drift_features: [],
    drift_features_total: input.features.length,
    performance: [],
    integrity: starts.some((t) => points.get(t)!.integrity !== null) ? [] : null,
    alerts: []
  };
  for (const t of starts) {
    const p = points.get(t)!;
    series.ops.push(p.ops);
    series.versions.push(...p.versions);
    series.errors.push(...p.errors);
    series.drift.push(...p.drift.map((d) => ({ ...d })));
    if (p.drift_share) series.drift_share.push(p.drift_share);
    if (series.integrity) for (const [kind, count] of Object.entries(p.integrity ?? {})) series.integrity.push({ t, kind, count });

    if (input.version !== null) {
      const performance = emptyPerformance();
      for (const state of await input.performance(t, t + bucketMs)) mergePerformance(performance, state);
      if (performance.labelled > 0) {
        const metrics = performanceMetrics(performance, input.positive);
        const labelled_share = p.servedRows > 0 ? Math.min(1, performance.labelled / p.servedRows) : null;
        const names = performance.regression.n > 0 ? (['mae', 'rmse'] as const) : (['accuracy', 'f1', 'roc_auc'] as const);
        for (const metric of names) {
          const value = metrics[metric];
          if (value !== null && Number.isFinite(value)) series.performance.push({ t, metric, value, labelled: performance.labelled, labelled_share });
        }
      }
    }
  }

  // The drift panel keeps the most drifted features (then by name) when the profile has many.
  const driftedCount = new Map<string, number>();
  for (const d of series.drift) driftedCount.set(d.feature, (driftedCount.get(d.feature) ?? 0) + (d.drifted ? 1 : 0));
  series.drift_features = [...driftedCount.keys()]
    .sort((a, b) => driftedCount.get(b)! - driftedCount.get(a)! || a.localeCompare(b))
    .slice(0, MAX_CHART_FEATURES);
  const rank = new Map(series.drift_features.map((f, i) => [f, i]));
  series.drift = series.drift.filter((d) => rank.has(d.feature));
  for (const d of series.drift) d.rank = rank.get(d.feature)!;

  for (const alert of input.alerts ?? []) {
    const fired = Date.parse(alert.fired_at);
    const resolved = alert.resolved_at ? Date.parse(alert.resolved_at) : null;
    if (!Number.isFinite(fired)) continue;
    if (fired >= to || (resolved !== null && resolved < from)) continue;
    series.alerts.push({ ...alert, t: fired, t_end: resolved !== null && Number.isFinite(resolved) ? resolved : null });
  }
  return series;
}

/** One bucket from its windows; `until`: its end, or now for the current bucket (rates are over the time elapsed). */
function bucketPoints(input: SeriesInput, references: Map<string, Reference>, t: number, bucket: number, until: number, windows: readonly WindowState[]): BucketPoints {
  const seconds = Math.max(1, (until - t) / 1000);
  const total = new Ops();
  const perVersion = new Map<number, Ops>();
  let described: MonitorWindow | null = null;
  let integrity: Record<string, number> | null = null;
  for (const w of windows) {
    total.merge(w.served);
    let ops = perVersion.get(w.modelVersion);
    if (!ops) perVersion.set(w.modelVersion, (ops = new Ops()));
    ops.merge(w.served);
    if (w.modelVersion === input.version) (described ??= new MonitorWindow(w.model, w.modelVersion, t, bucket)).merge(w);
    const counted = integrityOf(w);
    if (counted) {
      integrity ??= {};
      for (const [kind, n] of Object.entries(counted)) integrity[kind] = (integrity[kind] ?? 0) + n;
    }
  }
  const drift: MonitorSeries['drift'] = [];
  let tested = 0;
  let drifted = 0;
  if (described) {
    for (const feature of input.features) {
      const entry = driftOf(feature, references.get(feature.name), described);
      if (!entry) continue;
      tested++;
      if (entry.drifted) drifted++;
      drift.push({ t, t_end: t + bucket * 1000, feature: feature.name, rank: 0, ...entry });
    }
  }
  return {
    ops: {
      t,
      t_end: t + bucket * 1000,
      requests: total.requests,
      errors: total.errors,
      error_rate: total.requests > 0 ? total.errors / total.requests : null,
      rows: total.rows,
      throughput_per_s: total.rows / seconds,
      p50: total.latency.quantile(0.5),
      p95: total.latency.quantile(0.95),
      p99: total.latency.quantile(0.99)
    },
    versions: [...perVersion]
      .sort(([a], [b]) => a - b)
      .map(([version, ops]) => ({ t, version, requests: ops.requests, rows: ops.rows, errors: ops.errors, throughput_per_s: ops.rows / seconds })),
    errors: Object.entries(total.errorsByCode).map(([code, count]) => ({ t, code, count })),
    drift,
    drift_share: tested > 0 ? { t, share: drifted / tested, tested, drifted } : null,
    integrity,
    servedRows: described?.served.rows ?? 0
  };
}

type Reference = { kind: 'numeric'; values: number[] } | { kind: 'categorical'; counts: Map<string, number> };

/** Each feature's reference in the form driftTest takes, built once per series. */
function prepareReferences(features: readonly SeriesFeature[]): Map<string, Reference> {
  const out = new Map<string, Reference>();
  for (const f of features) {
    if (!f.reference || f.reference.length === 0) continue;
    if (f.kind === 'numeric') {
      const values = f.reference.map(Number).filter(Number.isFinite);
      if (values.length > 0) out.set(f.name, { kind: 'numeric', values });
    } else {
      out.set(f.name, { kind: 'categorical', counts: countCategories<string>(f.reference.map((s) => (s === null || s === undefined ? null : String(s)))) });
    }
  }
  return out;
}

function driftOf(
  feature: SeriesFeature,
  reference: Reference | undefined,
  window: MonitorWindow
): { method: string; statistic: number; p_value: number | null; threshold: number; drifted: boolean } | null {
  const current = window.features.get(feature.name);
  if (!reference || !current) return null;
  try {
    let result;
    if (reference.kind === 'numeric') {
      if (current.kind !== 'numeric' || current.reservoir.values.length === 0) return null;
      result = driftTest('numeric', reference.values, current.reservoir.values);
    } else {
      if (current.kind !== 'categorical' || current.counter.counts.size === 0) return null;
      const counts = new Map([...current.counter.counts].filter(([k]) => k !== OTHER_CATEGORY || reference.counts.has(k)));
      result = driftTest('categorical', reference.counts, counts);
    }
    return { method: result.method, statistic: result.statistic, p_value: result.pValue, threshold: result.threshold, drifted: result.drifted };
  } catch {
    // A window whose values cannot be tested (e.g. all missing) has no drift point.
    return null;
  }
}

/** The window's violations by kind, kinds with none left out; undefined when it has none. */
function integrityOf(w: WindowState): Record<string, number> | undefined {
  const counted = Object.entries(w.integrity ?? {}).filter(([, n]) => typeof n === 'number' && n > 0);
  return counted.length > 0 ? Object.fromEntries(counted) : undefined;
}
