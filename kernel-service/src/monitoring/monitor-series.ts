/**
 * The series behind the monitor chart: the span of a `status` view over time (series.ts cuts
 * it into buckets), read from the settled windows (cached, settled-windows.ts) and the open
 * ones, with the drift and performance of the version the view describes.
 */
import { type PerformanceState, emptyPerformance, mergePerformance } from './accumulators.js';
import { guessPositive } from './feedback.js';
import { type ChartAlert, type MonitorSeries, type SeriesCache, buildSeries } from './series.js';
import type { MonitoringStore } from './store.js';
import type { StatusView } from './views.js';
import { type VersionPlans, alignDown } from './version-plan.js';
import type { MonitorWindow, WindowState } from './window.js';

export interface SeriesSources {
  store: MonitoringStore;
  plans: VersionPlans;
  windowSeconds: number;
  /** The model's stored windows that overlap [from, to). */
  stored: (from: number, to: number) => Promise<readonly WindowState[]>;
  open: readonly MonitorWindow[];
  /** Buckets that end at or before this time (ms) have all their windows stored. */
  settledBefore: number;
  cache: SeriesCache;
}

export async function monitoringSeries(src: SeriesSources, model: string, view: Pick<StatusView, 'from' | 'to' | 'version'>, alerts?: readonly ChartAlert[]): Promise<MonitorSeries> {
  const from = Date.parse(view.from);
  const to = Date.parse(view.to);
  const loadWindows = async (a: number, b: number): Promise<WindowState[]> => {
    const windows = [...(await src.stored(a, b))];
    for (const w of src.open) if (w.end > a && w.start < b) windows.push(w.toJSON());
    return windows;
  };
  const version = view.version;
  const plan = version === null ? null : await src.plans.load(model, version);
  const samples = (plan?.profile?.features ?? {}) as Record<string, { sample?: unknown[] }>;
  const loadPerformance = async (a: number, b: number): Promise<PerformanceState[]> => (version === null ? [] : src.store.loadPerformance(model, version, a, b));
  const whole = emptyPerformance();
  for (const p of await loadPerformance(alignDown(from, src.windowSeconds), to + 1)) mergePerformance(whole, p);
  return buildSeries({
    from,
    to,
    windowSeconds: src.windowSeconds,
    loadWindows,
    settledBefore: src.settledBefore,
    cache: src.cache,
    cacheKey: model,
    version,
    features: (plan?.features ?? []).map((f) => ({ ...f, reference: samples[f.name]?.sample })),
    performance: loadPerformance,
    positive: plan?.positive ?? guessPositive(whole),
    alerts
  });
}
