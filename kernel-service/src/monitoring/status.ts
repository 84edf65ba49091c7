/**
 * Status: a model's monitoring over a span, as the `status` message answers it — operations
 * of every version, integrity, data and prediction drift of the version it describes against
 * the training profile, performance from joined ground truth, the concept-drift detector —
 * merged from the settled windows (hour blocks and windows, settled-windows.ts) and the open ones.
 */
import type { Registry } from '../registry/registry.js';
import { OTHER_CATEGORY, emptyPerformance, mergePerformance, performanceMetrics } from './accumulators.js';
import { countCategories } from './categorical.js';
import { type DriftMethod, driftTest } from './drift-statistics.js';
import { detectorName, guessPositive } from './feedback.js';
import { IntegrityCounts } from './integrity-counts.js';
import type { MonitoringStore } from './store.js';
import { type DriftEntry, type StatusOptions, type StatusView, opsView } from './views.js';
import { type Kind, type VersionPlans, alignDown } from './version-plan.js';
import { MonitorWindow, type WindowState } from './window.js';

/** Where a status reads from. */
export interface StatusSources {
  registry: Registry;
  store: MonitoringStore;
  plans: VersionPlans;
  windowSeconds: number;
  now: number;
  /** The settled states (blocks and windows) of the model over [from, to), as SettledWindows.span gives them. */
  settled: (from: number, to: number) => Promise<readonly WindowState[]>;
  /** The model's open windows. */
  open: readonly MonitorWindow[];
}

/** The model's monitoring over the last `lastSeconds`. */
export async function monitoringStatus(src: StatusSources, model: string, lastSeconds: number, requestedVersion?: number, options: StatusOptions = {}): Promise<StatusView> {
  const withDrift = options.drift ?? true;
  const to = src.now;
  const from = to - lastSeconds * 1000;
  const merged = new Map<number, MonitorWindow>();
  let firstStart = to;
  const into = (start: number, version: number): MonitorWindow => {
    firstStart = Math.min(firstStart, start);
    let w = merged.get(version);
    if (!w) merged.set(version, (w = new MonitorWindow(model, version, from, src.windowSeconds)));
    return w;
  };
  // Per version, every state of the span merged at once (each drift sample drawn once).
  const states = new Map<number, WindowState[]>();
  const add = (version: number, state: WindowState): void => {
    const list = states.get(version);
    if (list) list.push(state);
    else states.set(version, [state]);
  };
  for (const state of await src.settled(from, to)) {
    into(state.start, state.modelVersion);
    if (withDrift) add(state.modelVersion, state);
    else {
      const w = merged.get(state.modelVersion)!;
      w.served.merge(state.served);
      w.shadow.merge(state.shadow);
    }
  }
  for (const open of src.open) {
    if (open.end <= from) continue;
    const w = into(open.start, open.version);
    if (withDrift) add(open.version, open.toJSON());
    else {
      w.served.merge(open.served);
      w.shadow.merge(open.shadow);
    }
  }
  for (const [version, list] of states) merged.get(version)!.mergeAll(list);

  const summary = await src.registry.getModel(model);
  const deployment = summary?.deployment;
  const roleOf = (v: number): string =>
    deployment?.production === v ? 'production' : deployment?.canary?.version === v ? 'canary' : deployment?.shadows.includes(v) ? 'shadow' : 'none';
  // Throughput over the time covered: the span, or less when the first window is younger.
  const seconds = Math.max(1, (to - Math.max(from, firstStart)) / 1000);
  const total = new MonitorWindow(model, 0, from, src.windowSeconds);
  const integrity = new IntegrityCounts();
  for (const w of merged.values()) {
    total.served.merge(w.served);
    integrity.merge(w.integrity.toJSON());
  }

  const version =
    requestedVersion ??
    deployment?.production ??
    [...merged.entries()].filter(([, w]) => w.served.requests > 0).map(([v]) => v).sort((a, b) => b - a)[0] ??
    summary?.versions.at(-1)?.version ??
    null;
  const described = version === null ? undefined : merged.get(version);
  const plan = version === null ? undefined : await src.plans.load(model, version);

  const drift: Record<string, DriftEntry | null> = {};
  let tested = 0;
  let drifted = 0;
  if (withDrift && plan && described) {
    const profileFeatures = (plan.profile?.features ?? {}) as Record<string, { sample?: unknown[] }>;
    for (const { name, kind } of plan.features) {
      const current = described.features.get(name);
      if (!current) continue;
      const entry = driftOf(kind, profileFeatures[name]?.sample, current, options);
      drift[name] = entry;
      if (entry) {
        tested++;
        if (entry.drifted) drifted++;
      }
    }
  }
  let predictionDrift: DriftEntry | null = null;
  if (withDrift && plan?.predictionKind && described?.prediction) {
    const reference = (plan.profile?.prediction as { sample?: unknown[] } | undefined)?.sample;
    predictionDrift = driftOf(plan.predictionKind, reference, described.prediction, options);
  }

  const performance = emptyPerformance();
  if (version !== null) {
    for (const p of await src.store.loadPerformance(model, version, alignDown(from, src.windowSeconds), to + 1)) mergePerformance(performance, p);
  }
  const servedRows = described?.served.rows ?? 0;
  const positive = plan?.positive ?? guessPositive(performance);
  const detector = version === null ? undefined : await src.store.loadDetector(model, version);

  return {
    model,
    version,
    window_seconds: src.windowSeconds,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    ops: opsView(total.served, seconds),
    integrity: { ...integrity.counts },
    integrity_features: Object.fromEntries(
      [...integrity.features].map(([name, f]) => [
        name,
        { counts: { ...f.counts }, null_share: f.rows > 0 ? f.nulls / f.rows : null, training_null_rate: f.trainingNullRate, detail: f.detail }
      ])
    ),
    drift,
    drift_share: tested > 0 ? drifted / tested : null,
    prediction_drift: predictionDrift,
    performance: {
      ...performanceMetrics(performance, positive),
      labelled: performance.labelled,
      labelled_share: servedRows > 0 ? Math.min(1, performance.labelled / servedRows) : null
    },
    concept_drift: detector
      ? {
          detector: detectorName(detector),
          detected: detector.detectedAt !== null && detector.detectedAt >= from,
          at: detector.detectedAt !== null ? new Date(detector.detectedAt).toISOString() : null
        }
      : null,
    versions: [...merged.entries()]
      .sort(([a], [b]) => a - b)
      .map(([v, w]) => ({ version: v, role: roleOf(v), ops: opsView(w.served, seconds), shadow_requests: w.shadow.requests, integrity: { ...w.integrity.counts } }))
  };
}

const METHODS_FOR: Readonly<Record<Kind, readonly DriftMethod[]>> = {
  numeric: ['ks', 'wasserstein', 'jensenshannon', 'psi'],
  categorical: ['chisquare', 'jensenshannon', 'psi']
};

function driftOf(kind: Kind, sample: unknown[] | undefined, current: MonitorWindow['prediction'], options: StatusOptions = {}): DriftEntry | null {
  if (!sample || sample.length === 0 || !current) return null;
  const test = {
    method: options.driftMethod && METHODS_FOR[kind].includes(options.driftMethod) ? options.driftMethod : undefined,
    thresholds: options.driftThresholds
  };
  try {
    let result;
    if (kind === 'numeric') {
      if (current.kind !== 'numeric' || current.reservoir.values.length === 0) return null;
      const reference = sample.map(Number).filter(Number.isFinite);
      if (reference.length === 0) return null;
      result = driftTest('numeric', reference, current.reservoir.values, test);
    } else {
      if (current.kind !== 'categorical' || current.counter.counts.size === 0) return null;
      const reference = countCategories(sample.map((s) => (s === null || s === undefined ? null : String(s))));
      const counts = new Map([...current.counter.counts].filter(([k]) => k !== OTHER_CATEGORY || reference.has(k)));
      result = driftTest('categorical', reference, counts, test);
    }
    return { method: result.method, statistic: result.statistic, p_value: result.pValue, threshold: result.threshold, drifted: result.drifted };
  } catch {
    return null;
  }
}
