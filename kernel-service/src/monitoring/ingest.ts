/**
 * Ingest: what monitoring does with each inference it is handed. Per model version it keeps
 * one open time window in memory (operations, the inputs and predictions served, in bounded
 * accumulators, integrity counts), logs each served prediction for the feedback join, writes
 * closed windows and the log to the store in batches, and once a second tells listeners what
 * traffic the windows took.
 *
 * `observe` does no I/O: O(rows × features) additions to in-memory accumulators and a push
 * to the predictions buffer, written in one transaction every `flushMs` or per `flushRows`.
 * It uses the version plans already loaded (MonitorState loads an event's plan before it).
 * A flush takes what is buffered at once and enqueues its transaction before it returns, so
 * a transaction asked for after it (the feedback join) runs after it.
 */
import type { ServiceError } from '../errors.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { IntegrityReport } from '../protocol/integrity.js';
import type { MonitoringStore, PredictionRecord } from './store.js';
import { add, countsOf, subtract } from './traffic-counts.js';
import type { TrafficCounts, WindowUpdate, WindowUpdateListener } from './views.js';
import { type VersionPlan, type VersionPlans, alignDown, categoryOf, inputColumns } from './version-plan.js';
import { MonitorWindow, type WindowState } from './window.js';

export interface IngestOptions {
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

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  windowSeconds: 60,
  retentionMs: 7 * 24 * 3600 * 1000,
  maxPredictions: 1_000_000,
  flushMs: 100,
  flushRows: 1000,
  maxPendingRows: 100_000,
  now: () => Date.now(),
  log: (message) => console.error(`[nbdeploy] ${message}`)
};

/** What monitoring needs of an inference (the data plane's InferenceEvent fits). */
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
  /** Kept by the deployment's capture for this many days; 0 or absent: not kept. */
  captureDays?: number;
}

/** Where sampled requests go (capture.ts): kept with the predictions log's writes and its prune. */
export interface CaptureSink {
  add(event: ObservedInference, plan: VersionPlan): void;
  /** Requests waiting for the next write. */
  readonly pending: number;
  write(): Promise<void>;
  prune(now: number): Promise<void>;
}

export class Ingest {
  readonly options: IngestOptions;
  /** Rows not written to the predictions log because the buffer was full. */
  droppedPredictions = 0;

  /** `stored`: told of every window written to the store (the settled-window cache keeps them). */
  constructor(
    private readonly _plans: VersionPlans,
    private readonly _store: MonitoringStore,
    options: Partial<IngestOptions> = {},
    private readonly _stored: (windows: readonly WindowState[]) => void = () => {},
    /** Keeps the requests sampled for capture; none without it. */
    private readonly _capture: CaptureSink | null = null
  ) {
    this.options = { ...DEFAULT_INGEST_OPTIONS, ...options };
    if (!(Number.isInteger(this.options.windowSeconds) && this.options.windowSeconds >= 1)) {
      throw new Error(`invalid option: the monitoring window must be a whole number of seconds >= 1, got ${this.options.windowSeconds}`);
    }
  }

  observe(event: ObservedInference): void {
    if (this._closed) return;
    this._touched = true;
    const rows = rowsOf(event.inputs);
    const window = this._window(event.model, event.version, event.at);
    (event.shadow ? window.shadow : window.served).add(rows, event.latencyMs, event.error?.code ?? null);
    if (event.integrity && !event.shadow) window.integrity.add(event.integrity);
    if (event.error || !event.outputs) return;
    const plan = this._plans.get(event.model, event.version);
    if (!plan) return; // not a known version (or, used alone, a plan not loaded)
    accumulateInputs(window, plan, event.inputs, rows);
    this._accumulatePredictions(window, plan, event, rows);
    if (event.captureDays && this._capture) {
      this._capture.add(event, plan);
      this._scheduleFlush();
    }
  }

  /**
   * Called about once a second (from `tick`) with the models whose windows took traffic since
   * the last call (an empty list when none did, so that listeners can notice quiet).
   */
  onUpdate(listener: WindowUpdateListener): void {
    this._listeners.push(listener);
  }

  /** The open windows of a model (one per version with traffic in the current window). */
  openWindowsOf(model: string): MonitorWindow[] {
    return [...this._open.values()].filter((w) => w.model === model);
  }

  /** Every open window. */
  get openWindowList(): MonitorWindow[] {
    return [...this._open.values()];
  }

  /** Whether any window took traffic since the last call. */
  takeTouched(): boolean {
    const touched = this._touched;
    this._touched = false;
    return touched;
  }

  /** Open windows (one per model version that had traffic in the current window). */
  get openWindows(): number {
    return this._open.size;
  }

  /**
   * Buckets or blocks that end at or before this time (ms) have all their windows stored: the
   * model's oldest open window, or a few seconds ago (events still in flight) aligned down.
   */
  settledBefore(model: string): number {
    let settled = alignDown(this.options.now() - 5000, this.options.windowSeconds);
    for (const w of this._open.values()) if (w.model === model) settled = Math.min(settled, w.start);
    return settled;
  }

  /** Writes the buffered predictions and the windows closed since the last flush. */
  async flush(): Promise<void> {
    if (this._flushTimer) {
      clearTimeout(this._flushTimer);
      this._flushTimer = null;
    }
    const rows = this._pending.splice(0);
    const closed = this._closing.splice(0).map((w) => w.toJSON());
    const captured = this._capture?.pending ?? 0;
    if (rows.length === 0 && closed.length === 0 && captured === 0) return;
    await this._store.transaction(async () => {
      if (rows.length > 0) await this._store.appendPredictions(rows);
      if (closed.length > 0) await this._store.saveWindows(closed);
      if (captured > 0) await this._capture!.write();
    });
    if (closed.length > 0) this._stored(closed);
  }

  /** Closes windows nobody sends traffic to any more, tells listeners, prunes once a window (resolved once pruned; never rejected). */
  tick(): Promise<void> {
    const now = this.options.now();
    for (const [key, w] of this._open) if (now >= w.end) this._close(key, w);
    this._publishUpdates();
    if (now - this._lastPrune >= this.options.windowSeconds * 1000) {
      this._lastPrune = now;
      return this._prune(now).catch(() => {
        // A busy or failing database must not stop the service; the next prune retries.
      });
    }
    return Promise.resolve();
  }

  /** Persists everything, open windows included; takes no more events. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    this._closing.push(...this._open.values());
    this._open.clear();
    await this.flush();
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
        listener(updates, []);
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
    this.flush().catch((error: unknown) => {
      // Lost on a failing database; monitoring must not fail inference.
      this.options.log(`monitoring could not write to its database: ${(error as Error).message}`);
    });
  }

  private async _prune(now: number): Promise<void> {
    await this.flush();
    await this._store.prune(now - this.options.retentionMs, this.options.maxPredictions);
    await this._capture?.prune(now);
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

  private readonly _open = new Map<string, MonitorWindow>();
  private readonly _listeners: WindowUpdateListener[] = [];
  /** Per open window: its counts at the last update. */
  private readonly _reported = new Map<string, TrafficCounts>();
  /** Per model version: traffic of windows closed since the last update, not reported yet. */
  private readonly _carried = new Map<string, { window: MonitorWindow; added: TrafficCounts }>();
  private readonly _closing: MonitorWindow[] = [];
  private readonly _pending: PredictionRecord[] = [];
  private _flushTimer: NodeJS.Timeout | null = null;
  private _flushSoon = false;
  private _lastPrune = 0;
  private _touched = false;
  private _closed = false;
}

function accumulateInputs(window: MonitorWindow, plan: VersionPlan, inputs: readonly Tensor[], rows: number): void {
  if (plan.features.length === 0) return;
  for (const tensor of inputs) {
    const columns = inputColumns(plan, tensor, inputs.length);
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

function rowsOf(inputs: readonly Tensor[]): number {
  const shape = inputs[0]?.shape;
  return shape && shape.length > 0 ? shape[0]! : 1;
}
