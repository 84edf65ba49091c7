/**
 * The service's monitor: fed every inference by the data plane, it keeps per model version
 * one open time window in memory (operations, the inputs and predictions served, in bounded
 * accumulators), persists closed windows and a predictions log in batches, joins delayed
 * ground truth to the window each prediction belongs to, and answers `status` over any
 * span by merging stored windows with the open ones.
 *
 * The hot path (`observe`) does no I/O: O(rows × features) additions to in-memory
 * accumulators and a push to the predictions buffer, flushed in one transaction every
 * `flushMs` or per `flushRows` rows.
 */
import type { ServiceError } from '../errors.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { Registry } from '../registry/registry.js';
import {
  OTHER_CATEGORY,
  type PerformanceMetrics,
  type PerformanceState,
  addClassification,
  addRegression,
  emptyPerformance,
  mergePerformance,
  performanceMetrics
} from './accumulators.js';
import { countCategories } from './categorical.js';
import { ADWIN, type DriftDetector, PageHinkley, restoreDetector } from './detectors.js';
import { type DriftMethod, driftTest } from './drift-statistics.js';
import type { IntegrityKind, IntegrityReport } from './integrity.js';
import { IntegrityCounts } from './integrity-counts.js';
import { type ChartAlert, type MonitorSeries, SeriesCache, buildSeries } from './series.js';
import type { MonitoringStore, PredictionRecord } from './store.js';
import { MonitorWindow, type Ops, type WindowState } from './window.js';

export interface MonitorOptions {
  /** Length of a window, in seconds. */
  windowSeconds: number;
  /** Windows, performance and predictions older than this are dropped (ms). */
  retentionMs: number;
  /** The predictions log keeps at most this many rows (the newest). */
  maxPredictions: number;
  /** The predictions buffer is written at least this often (ms)… */
  flushMs: number;
  /** …and as soon as it holds this many rows. */
  flushRows: number;
  /** Rows the buffer holds at most while the database lags; past it, rows are not logged (counted). */
  maxPendingRows: number;
  now: () => number;
  /** Where a failing update listener is reported. */
  log: (message: string) => void;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  windowSeconds: 60,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxPredictions: 1_000_000,
  flushMs: 100,
  flushRows: 1000,
  maxPendingRows: 100_000,
  now: () => Date.now(),
  log: (message) => console.error(`[nbdeploy] ${message}`)
};

/** Traffic counted in a window: served and shadow requests, all rows and errors, latency of both. */
export interface TrafficCounts {
  requests: number;
  shadowRequests: number;
  errors: number;
  rows: number;
  latencyCount: number;
  latencySum: number;
}

/**
 * What changed in a model's windows since the previous update (updates come at most once a
 * second, from the monitor's timer, never from the inference path): per version with new
 * traffic, its latest window (the open one, or the one that closed since the last update)
 * and the traffic added since.
 */
export interface WindowUpdate {
  model: string;
  windowSeconds: number;
  versions: Array<{ version: number; window: MonitorWindow; added: TrafficCounts }>;
  /** The model's open windows (every version's), or when none is open, those that closed since the last update. */
  windows: MonitorWindow[];
}

export type WindowUpdateListener = (updates: readonly WindowUpdate[]) => void;

/** What the monitor needs of an inference (the data plane's InferenceEvent fits). */
export interface ObservedInference {
  model: string;
  version: number;
  requestId: string;
  shadow: boolean;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[] | null;
  error: ServiceError | { code: string } | null;
  latencyMs: number;
  at: number;
  /** The request's data integrity (served traffic; refused requests included). */
  integrity?: IntegrityReport | null;
}

export interface FeedbackItem {
  requestId: string;
  groundTruth: unknown;
}

type Kind = 'numeric' | 'categorical';

/** How one version's tensors map to profile features and predictions (versions are immutable: built once). */
interface VersionPlan {
  features: Array<{ name: string; kind: Kind }>;
  byName: Map<string, { name: string; kind: Kind }>;
  /** Per input name: the features of its columns, or one feature for the whole input; null: not monitored. */
  inputs: Map<string, Array<{ name: string; kind: Kind }> | null>;
  labelOutput: string | null;
  scoresOutput: string | null;
  valueOutput: string | null;
  predictionKind: Kind | null;
  positive: string | null;
  profile: Record<string, unknown> | undefined;
}

export interface DriftEntry {
  method: string;
  statistic: number;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
}

export interface OpsView {
  requests: number;
  errors: number;
  error_rate: number | null;
  errors_by_code: Record<string, number>;
  rows: number;
  throughput_per_s: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
}

/** One feature's integrity over the span: counts per kind, its null share, the latest detail. */
export interface FeatureIntegrityView {
  counts: Partial<Record<IntegrityKind, number>>;
  null_share: number | null;
  training_null_rate: number | null;
  detail: string | null;
}

export interface StatusView {
  model: string;
  version: number | null;
  window_seconds: number;
  from: string;
  to: string;
  ops: OpsView;
  /** Values each integrity kind concerned over the span, all versions' served traffic. */
  integrity: Record<IntegrityKind, number>;
  integrity_features: Record<string, FeatureIntegrityView>;
  drift: Record<string, DriftEntry | null>;
  drift_share: number | null;
  prediction_drift: DriftEntry | null;
  performance: PerformanceMetrics & { labelled: number; labelled_share: number | null };
  concept_drift: { detector: string; detected: boolean; at: string | null } | null;
  versions: Array<{ version: number; role: string; ops: OpsView; shadow_requests: number; integrity: Record<IntegrityKind, number> }>;
}

export interface StatusOptions {
  /**
   * false: leave out data drift and prediction drift (`drift` empty, `drift_share` and
   * `prediction_drift` null), which cost most; what the alert rules on operations need.
   */
  drift?: boolean;
  /**
   * The drift test of every feature instead of the default choice (KS / chi-square on
   * references up to 1,000 values, else Wasserstein / Jensen–Shannon), e.g. `psi`; a method
   * that does not apply to a feature's kind leaves that feature to the default.
   */
  driftMethod?: DriftMethod;
  /** Thresholds by method over the defaults (p-value for ks/chisquare, distance or PSI for the others). */
  driftThresholds?: Partial<Record<DriftMethod, number>>;
}

export class Monitor {
  readonly options: MonitorOptions;
  /** Rows not written to the predictions log because the buffer was full. */
  droppedPredictions = 0;

  constructor(
    private readonly _registry: Registry,
    private readonly _store: MonitoringStore,
    options: Partial<MonitorOptions> = {}
  ) {
    this.options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    if (!(Number.isInteger(this.options.windowSeconds) && this.options.windowSeconds >= 1)) {
      throw new Error(`invalid option: the monitoring window must be a whole number of seconds >= 1, got ${this.options.windowSeconds}`);
    }
    // Closes windows nobody sends traffic to any more, and prunes, about once a second.
    this._timer = setInterval(() => this._tick(), Math.min(1000, this.options.windowSeconds * 1000));
    this._timer.unref();
  }

  /** The data plane's observer: no I/O here. */
  observe(event: ObservedInference): void {
    if (this._closed) return;
    const rows = rowsOf(event.inputs);
    const window = this._window(event.model, event.version, event.at);
    (event.shadow ? window.shadow : window.served).add(rows, event.latencyMs, event.error?.code ?? null);
    if (event.integrity && !event.shadow) window.integrity.add(event.integrity);
    if (event.error || !event.outputs) return;
    const plan = this._plan(event.model, event.version);
    if (!plan) return;
    this._accumulateInputs(window, plan, event.inputs, rows);
    this._accumulatePredictions(window, plan, event, rows);
  }

  /**
   * Called about once a second with the models whose windows took traffic since the last
   * call (an empty list when none did, so that listeners can notice quiet).
   */
  onUpdate(listener: WindowUpdateListener): void {
    this._listeners.push(listener);
  }

  /** The open windows of a model (one per version with traffic in the current window). */
  openWindowsOf(model: string): MonitorWindow[] {
    return [...this._open.values()].filter((w) => w.model === model);
  }

  /** Joins ground truth to logged predictions and adds it to their windows' performance. */
  feedback(model: string, items: readonly FeedbackItem[]): number {
    if (this._closed) return 0;
    this.flush();
    const truth = new Map(items.map((i) => [i.requestId, i.groundTruth]));
    let joined = 0;
    this._store.transaction(() => {
      const claimed = this._store.claimPredictions(model, [...truth.keys()]);
      const byWindow = new Map<string, Array<{ p: PredictionRecord; truth: unknown }>>();
      for (const { key, prediction } of claimed) {
        const group = `${prediction.version}:${prediction.windowStart}`;
        let list = byWindow.get(group);
        if (!list) byWindow.set(group, (list = []));
        list.push({ p: prediction, truth: truth.get(key) });
      }
      const touched = new Map<number, { detector: DriftDetector; detectedAt: number | null }>();
      for (const list of byWindow.values()) {
        const { version, windowStart } = list[0]!.p;
        let detector = touched.get(version);
        if (!detector) touched.set(version, (detector = this._detector(model, version, list[0]!.p)));
        this._store.updatePerformance(model, version, windowStart, (state) => {
          for (const { p, truth: t } of list) {
            const error = addOutcome(state, p, t);
            if (error === null) continue;
            joined++;
            detector!.detector.update(error);
            if (detector!.detector.driftDetected) detector!.detectedAt = this.options.now();
          }
        });
      }
      for (const [version, d] of touched) this._store.saveDetector(model, version, { state: d.detector.toJSON(), detectedAt: d.detectedAt });
    });
    return joined;
  }

  /** The model's monitoring over the last `lastSeconds`, merged from stored and open windows. */
  status(model: string, lastSeconds = 900, requestedVersion?: number, options: StatusOptions = {}): StatusView {
    const withDrift = options.drift ?? true;
    this.flush();
    const to = this.options.now();
    const from = to - lastSeconds * 1000;
    const merged = new Map<number, MonitorWindow>();
    let firstStart = to;
    const into = (start: number, version: number): MonitorWindow => {
      firstStart = Math.min(firstStart, start);
      let w = merged.get(version);
      if (!w) merged.set(version, (w = new MonitorWindow(model, version, from, this.options.windowSeconds)));
      return w;
    };
    if (withDrift) for (const state of this._store.loadWindows(model, from, to)) into(state.start, state.modelVersion).merge(state);
    else {
      for (const ops of this._store.loadWindowOps(model, from, to)) {
        const w = into(ops.start, ops.modelVersion);
        w.served.merge(ops.served);
        w.shadow.merge(ops.shadow);
      }
    }
    for (const open of this._open.values()) {
      if (open.model !== model || open.end <= from) continue;
      const w = into(open.start, open.version);
      if (withDrift) w.merge(open.toJSON());
      else {
        w.served.merge(open.served);
        w.shadow.merge(open.shadow);
      }
    }

    const summary = this._registry.getModel(model);
    const deployment = summary?.deployment;
    const roleOf = (v: number): string =>
      deployment?.production === v ? 'production' : deployment?.canary?.version === v ? 'canary' : deployment?.shadows.includes(v) ? 'shadow' : 'none';
    // Throughput over the time covered: the span, or less when the first window is younger.
    const seconds = Math.max(1, (to - Math.max(from, firstStart)) / 1000);
    const total = new MonitorWindow(model, 0, from, this.options.windowSeconds);
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
    const plan = version === null ? undefined : this._plan(model, version);

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
      for (const p of this._store.loadPerformance(model, version, alignDown(from, this.options.windowSeconds), to + 1)) mergePerformance(performance, p);
    }
    const servedRows = described?.served.rows ?? 0;
    const positive = plan?.positive ?? guessPositive(performance);
    const detector = version === null ? undefined : this._store.loadDetector(model, version);

    return {
      model,
      version,
      window_seconds: this.options.windowSeconds,
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
            detector: DETECTOR_NAMES[(detector.state as { kind?: string }).kind ?? ''] ?? 'unknown',
            detected: detector.detectedAt !== null && detector.detectedAt >= from,
            at: detector.detectedAt !== null ? new Date(detector.detectedAt).toISOString() : null
          }
        : null,
      versions: [...merged.entries()]
        .sort(([a], [b]) => a - b)
        .map(([v, w]) => ({ version: v, role: roleOf(v), ops: opsView(w.served, seconds), shadow_requests: w.shadow.requests, integrity: { ...w.integrity.counts } }))
    };
  }

  /**
   * The span of a `status` view over time (series.ts): per bucket of windows, operations of
   * every version, and drift and performance of the version the view describes.
   */
  series(model: string, view: Pick<StatusView, 'from' | 'to' | 'version'>, alerts?: readonly ChartAlert[]): MonitorSeries {
    this.flush();
    const from = Date.parse(view.from);
    const to = Date.parse(view.to);
    const loadWindows = (a: number, b: number): WindowState[] => {
      const windows = this._store.loadWindows(model, a, b);
      for (const w of this._open.values()) if (w.model === model && w.end > a && w.start < b) windows.push(w.toJSON());
      return windows;
    };
    // Buckets before the open windows (and a few seconds' margin for events still in flight) are stored for good.
    let settledBefore = alignDown(this.options.now() - 5000, this.options.windowSeconds);
    for (const w of this._open.values()) if (w.model === model) settledBefore = Math.min(settledBefore, w.start);
    const version = view.version;
    const plan = version === null ? null : this._plan(model, version);
    const samples = (plan?.profile?.features ?? {}) as Record<string, { sample?: unknown[] }>;
    const loadPerformance = (a: number, b: number): PerformanceState[] => (version === null ? [] : this._store.loadPerformance(model, version, a, b));
    const whole = emptyPerformance();
    for (const p of loadPerformance(alignDown(from, this.options.windowSeconds), to + 1)) mergePerformance(whole, p);
    return buildSeries({
      from,
      to,
      windowSeconds: this.options.windowSeconds,
      loadWindows,
      settledBefore,
      cache: this._seriesCache,
      cacheKey: model,
      version,
      features: (plan?.features ?? []).map((f) => ({ ...f, reference: samples[f.name]?.sample })),
      performance: loadPerformance,
      positive: plan?.positive ?? guessPositive(whole),
      alerts
    });
  }

  /** Writes the buffered predictions and the windows closed since the last flush. */
  flush(): void {
    if (this._flushTimer) {
      clearTimeout(this._flushTimer);
      this._flushTimer = null;
    }
    const rows = this._pending.splice(0);
    const closed = this._closing.splice(0);
    if (rows.length === 0 && closed.length === 0) return;
    this._store.transaction(() => {
      if (rows.length > 0) this._store.appendPredictions(rows);
      if (closed.length > 0) this._store.saveWindows(closed.map((w) => w.toJSON()));
    });
  }

  /** Persists everything, open windows included; the monitor takes no more events. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this._timer);
    this._closing.push(...this._open.values());
    this._open.clear();
    this.flush();
  }

  /** Open windows (one per model version that had traffic in the current window). */
  get openWindows(): number {
    return this._open.size;
  }

  // --- internals -------------------------------------------------------------------

  private _window(model: string, version: number, at: number): MonitorWindow {
    const key = `${model}\u0000${version}`;
    let w = this._open.get(key);
    if (w && at >= w.end) {
      this._close(key, w);
      w = undefined;
    }
    if (!w) {
      w = new MonitorWindow(model, version, alignDown(at, this.options.windowSeconds), this.options.windowSeconds);
      this._open.set(key, w);
    }
    return w;
  }

  private _close(key: string, w: MonitorWindow): void {
    this._open.delete(key);
    // Traffic of its last moments not reported to update listeners yet: carried to the next update.
    const rest = subtract(countsOf(w), this._reported.get(key));
    this._reported.delete(key);
    if (rest.requests + rest.shadowRequests > 0 && this._listeners.length > 0) {
      const carried = this._carried.get(key);
      this._carried.set(key, { window: w, added: carried ? add(carried.added, rest) : rest });
    }
    this._closing.push(w);
    this._scheduleFlush();
  }

  private _tick(): void {
    const now = this.options.now();
    for (const [key, w] of this._open) if (now >= w.end) this._close(key, w);
    this._publishUpdates();
    if (now - this._lastPrune >= this.options.windowSeconds * 1000) {
      this._lastPrune = now;
      try {
        this.flush();
        this._store.prune(now - this.options.retentionMs, this.options.maxPredictions);
      } catch {
        // A busy or failing database must not stop the service; the next tick retries.
      }
    }
  }

  /** Tells update listeners what traffic the windows took since the last update. */
  private _publishUpdates(): void {
    if (this._listeners.length === 0) return;
    const byModel = new Map<string, WindowUpdate>();
    const note = (window: MonitorWindow, added: TrafficCounts): void => {
      let u = byModel.get(window.model);
      if (!u) byModel.set(window.model, (u = { model: window.model, windowSeconds: this.options.windowSeconds, versions: [], windows: [] }));
      const existing = u.versions.find((v) => v.version === window.version);
      if (!existing) u.versions.push({ version: window.version, window, added });
      else {
        existing.added = add(existing.added, added);
        if (window.start > existing.window.start) existing.window = window;
      }
    };
    for (const [key, w] of this._open) {
      const now = countsOf(w);
      const added = subtract(now, this._reported.get(key));
      if (added.requests + added.shadowRequests === 0) continue;
      this._reported.set(key, now);
      note(w, added);
    }
    for (const { window, added } of this._carried.values()) note(window, added);
    this._carried.clear();
    for (const w of this._open.values()) byModel.get(w.model)?.windows.push(w);
    for (const u of byModel.values()) if (u.windows.length === 0) u.windows = u.versions.map((v) => v.window);
    const updates = [...byModel.values()];
    for (const listener of this._listeners) {
      try {
        listener(updates);
      } catch (error) {
        this.options.log(`a monitoring update listener failed: ${(error as Error).message}`);
      }
    }
  }

  private _scheduleFlush(): void {
    if (this._pending.length >= this.options.flushRows) {
      if (!this._flushSoon) {
        this._flushSoon = true;
        setImmediate(() => {
          this._flushSoon = false;
          this._safeFlush();
        });
      }
    } else if (!this._flushTimer) {
      this._flushTimer = setTimeout(() => {
        this._flushTimer = null;
        this._safeFlush();
      }, this.options.flushMs);
      this._flushTimer.unref();
    }
  }

  private _safeFlush(): void {
    try {
      this.flush();
    } catch {
      // Lost on a failing database; monitoring must not fail inference.
    }
  }

  private _plan(model: string, version: number): VersionPlan | null {
    const key = `${model}\u0000${version}`;
    const cached = this._plans.get(key);
    if (cached !== undefined) return cached;
    const record = this._registry.getVersion(model, version);
    if (!record) return null;
    const profile = this._registry.getProfile(model, version);
    const features: Array<{ name: string; kind: Kind }> = [];
    for (const [name, spec] of Object.entries((profile?.features ?? {}) as Record<string, { kind?: string }>)) {
      features.push({ name, kind: spec?.kind === 'categorical' ? 'categorical' : 'numeric' });
    }
    const meta = ((record.metadata.nbdeploy as Record<string, unknown> | undefined)?.signature ?? null) as {
      task?: string;
      classes?: unknown[] | null;
      label_output?: string | null;
      scores_output?: string | null;
      value_output?: string | null;
    } | null;
    const outputs = record.signature.outputs;
    let labelOutput = meta?.label_output ?? null;
    let scoresOutput = meta?.scores_output ?? null;
    let valueOutput = meta?.value_output ?? null;
    if (!meta) {
      // A plain ONNX model: an integer or string output of one value per row is the label,
      // a float one with several columns the scores, a float one with one column the value.
      const perRow = (shape: number[]): boolean => shape.length === 1 || (shape.length === 2 && shape[1] === 1);
      const isFloat = (d: string): boolean => d.startsWith('FP');
      labelOutput = outputs.find((o) => !isFloat(o.datatype) && perRow(o.shape))?.name ?? null;
      scoresOutput = labelOutput ? (outputs.find((o) => isFloat(o.datatype) && o.shape.length === 2 && o.shape[1] !== 1)?.name ?? null) : null;
      valueOutput = labelOutput ? null : (outputs.find((o) => isFloat(o.datatype) && perRow(o.shape))?.name ?? null);
    }
    const classes = meta?.classes ?? null;
    const plan: VersionPlan = {
      features,
      byName: new Map(features.map((f) => [f.name, f])),
      inputs: new Map(),
      labelOutput,
      scoresOutput,
      valueOutput,
      predictionKind: labelOutput ? 'categorical' : valueOutput ? 'numeric' : null,
      positive: classes && classes.length === 2 ? String(classes[1]) : null,
      profile
    };
    this._plans.set(key, plan);
    return plan;
  }

  private _inputPlan(plan: VersionPlan, tensor: Tensor, inputCount: number): Array<{ name: string; kind: Kind }> | null {
    const cached = plan.inputs.get(tensor.name);
    if (cached !== undefined) return cached;
    const width = tensor.shape.length === 1 ? 1 : tensor.shape.length === 2 ? tensor.shape[1]! : -1;
    let out: Array<{ name: string; kind: Kind }> | null = null;
    const own = plan.byName.get(tensor.name);
    if (own && width === 1) out = [own];
    else if (inputCount === 1 && width > 1 && width <= plan.features.length) out = plan.features.slice(0, width);
    plan.inputs.set(tensor.name, out);
    return out;
  }

  private _accumulateInputs(window: MonitorWindow, plan: VersionPlan, inputs: readonly Tensor[], rows: number): void {
    if (plan.features.length === 0) return;
    for (const tensor of inputs) {
      const columns = this._inputPlan(plan, tensor, inputs.length);
      if (!columns) continue;
      const width = columns.length;
      const data = tensor.data;
      if (data.length < rows * width) continue;
      for (let j = 0; j < width; j++) {
        const acc = window.feature(columns[j]!.name, columns[j]!.kind);
        if (!acc) continue;
        if (acc.kind === 'numeric') {
          const r = acc.reservoir;
          if (Array.isArray(data)) for (let i = 0; i < rows; i++) r.add(Number((data as string[])[i * width + j]));
          else for (let i = 0; i < rows; i++) r.add(Number(data[i * width + j]));
        } else {
          const c = acc.counter;
          for (let i = 0; i < rows; i++) c.add(categoryOf(data[i * width + j]));
        }
      }
    }
  }

  private _accumulatePredictions(window: MonitorWindow, plan: VersionPlan, event: ObservedInference, rows: number): void {
    const outputs = event.outputs!;
    const label = plan.labelOutput ? outputs.find((o) => o.name === plan.labelOutput) : undefined;
    const scores = plan.scoresOutput ? outputs.find((o) => o.name === plan.scoresOutput) : undefined;
    const value = plan.valueOutput ? outputs.find((o) => o.name === plan.valueOutput) : undefined;
    const labelOk = label && label.data.length === rows;
    const valueOk = value && value.data.length === rows;
    const binary = scores && scores.shape.length === 2 && scores.shape[1] === 2 && scores.data.length === rows * 2;
    if (labelOk) {
      const acc = window.predictions('categorical');
      if (acc.kind === 'categorical') for (let i = 0; i < rows; i++) acc.counter.add(categoryOf(label.data[i]));
    } else if (valueOk) {
      const acc = window.predictions('numeric');
      if (acc.kind === 'numeric') for (let i = 0; i < rows; i++) acc.reservoir.add(Number(value.data[i]));
    }
    if (event.shadow || (!labelOk && !valueOk)) return;
    if (this._pending.length + rows > this.options.maxPendingRows) {
      this.droppedPredictions += rows;
      return;
    }
    for (let i = 0; i < rows; i++) {
      this._pending.push({
        model: event.model,
        key: rows === 1 ? event.requestId : `${event.requestId}#${i}`,
        version: event.version,
        windowStart: window.start,
        label: labelOk ? categoryOf(label.data[i]) : null,
        score: binary ? Number(scores.data[i * 2 + 1]) : null,
        value: valueOk ? Number(value.data[i]) : null,
        at: event.at
      });
    }
    this._scheduleFlush();
  }

  private _detector(model: string, version: number, first: PredictionRecord): { detector: DriftDetector; detectedAt: number | null } {
    const stored = this._store.loadDetector(model, version);
    if (stored) {
      try {
        return { detector: restoreDetector(stored.state), detectedAt: stored.detectedAt };
      } catch {
        // A state that does not restore starts afresh.
      }
    }
    // 0/1 errors of a classifier: ADWIN (DDM false-alarms on i.i.d. streams, see docs/monitoring.md);
    // absolute errors of a regressor: Page-Hinkley watching for an increase.
    return { detector: first.label !== null ? new ADWIN() : new PageHinkley({ mode: 'up' }), detectedAt: null };
  }

  private readonly _open = new Map<string, MonitorWindow>();
  private readonly _listeners: WindowUpdateListener[] = [];
  /** Per open window: its counts at the last update. */
  private readonly _reported = new Map<string, TrafficCounts>();
  /** Per model version: traffic of windows closed since the last update, not reported yet. */
  private readonly _carried = new Map<string, { window: MonitorWindow; added: TrafficCounts }>();
  private readonly _closing: MonitorWindow[] = [];
  private readonly _pending: PredictionRecord[] = [];
  private readonly _plans = new Map<string, VersionPlan | null>();
  private readonly _seriesCache = new SeriesCache();
  private readonly _timer: NodeJS.Timeout;
  private _flushTimer: NodeJS.Timeout | null = null;
  private _flushSoon = false;
  private _lastPrune = 0;
  private _closed = false;
}

const DETECTOR_NAMES: Record<string, string> = { ddm: 'DDM', 'page-hinkley': 'PageHinkley', adwin: 'ADWIN' };

export function alignDown(at: number, seconds: number): number {
  const ms = seconds * 1000;
  return Math.floor(at / ms) * ms;
}

function countsOf(w: MonitorWindow): TrafficCounts {
  return {
    requests: w.served.requests,
    shadowRequests: w.shadow.requests,
    errors: w.served.errors + w.shadow.errors,
    rows: w.served.rows + w.shadow.rows,
    latencyCount: w.served.latency.count + w.shadow.latency.count,
    latencySum: w.served.latency.sum + w.shadow.latency.sum
  };
}

function subtract(a: TrafficCounts, b: TrafficCounts | undefined): TrafficCounts {
  if (!b) return a;
  return {
    requests: a.requests - b.requests,
    shadowRequests: a.shadowRequests - b.shadowRequests,
    errors: a.errors - b.errors,
    rows: a.rows - b.rows,
    latencyCount: a.latencyCount - b.latencyCount,
    latencySum: a.latencySum - b.latencySum
  };
}

function add(a: TrafficCounts, b: TrafficCounts): TrafficCounts {
  return {
    requests: a.requests + b.requests,
    shadowRequests: a.shadowRequests + b.shadowRequests,
    errors: a.errors + b.errors,
    rows: a.rows + b.rows,
    latencyCount: a.latencyCount + b.latencyCount,
    latencySum: a.latencySum + b.latencySum
  };
}

function rowsOf(inputs: readonly Tensor[]): number {
  const shape = inputs[0]?.shape;
  return shape && shape.length > 0 ? shape[0]! : 1;
}

function categoryOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && Number.isNaN(value)) return null;
  return String(value);
}

/** Adds one joined outcome; returns the detector's input (0/1 error, or |error|), or null if the truth does not fit. */
function addOutcome(state: PerformanceState, p: PredictionRecord, truth: unknown): number | null {
  const t = Array.isArray(truth) && truth.length === 1 ? truth[0] : truth;
  if (p.label !== null) {
    if (t === null || t === undefined || typeof t === 'object') return null;
    const truthText = String(t);
    addClassification(state, p.label, truthText, p.score);
    return p.label === truthText ? 0 : 1;
  }
  if (p.value !== null) {
    const y = typeof t === 'number' ? t : typeof t === 'string' ? Number(t) : NaN;
    if (!Number.isFinite(y) || !Number.isFinite(p.value)) return null;
    addRegression(state, p.value, y);
    return Math.abs(p.value - y);
  }
  return null;
}

/** Labels as given: 0/1 or false/true make a binary problem whose positive class is 1 / true. */
function guessPositive(p: PerformanceState): string | null {
  const labels = new Set([...Object.keys(p.classes), ...Object.keys(p.scores)]);
  if (labels.size === 0) return null;
  if ([...labels].every((l) => l === '0' || l === '1')) return '1';
  if ([...labels].every((l) => l === 'false' || l === 'true')) return 'true';
  return null;
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

export function opsView(ops: Ops, seconds: number): OpsView {
  return {
    requests: ops.requests,
    errors: ops.errors,
    error_rate: ops.requests > 0 ? ops.errors / ops.requests : null,
    errors_by_code: { ...ops.errorsByCode },
    rows: ops.rows,
    throughput_per_s: ops.rows / seconds,
    latency_ms: { p50: ops.latency.quantile(0.5), p95: ops.latency.quantile(0.95), p99: ops.latency.quantile(0.99) }
  };
}
