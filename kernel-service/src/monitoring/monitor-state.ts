/**
 * Everything monitoring knows, in one thread: ingest (open windows, the predictions log,
 * captured requests), the settled windows cached for long spans, the feedback join, and the
 * queries — `status`, the series behind the monitor chart, and the captured rows. The monitoring worker (monitor-worker.ts) runs one
 * on its own database connection; tests run one in place.
 */
import type { Registry } from '../registry/registry.js';
import { Capture } from './capture.js';
import type { CaptureQuery, CaptureStore, CapturedRequest } from './capture-store.js';
import { type CapturedTable, capturedTable } from './captured-table.js';
import { type FeedbackItem, joinFeedback } from './feedback.js';
import { Ingest, type IngestOptions, type ObservedInference } from './ingest.js';
import { monitoringSeries } from './monitor-series.js';
import { type ChartAlert, type MonitorSeries, SeriesCache } from './series.js';
import { ReplicaWindows, type ReplicaWindowsOptions } from './replica-windows.js';
import { SettledWindows } from './settled-windows.js';
import { monitoringStatus } from './status.js';
import type { MonitoringStore } from './store.js';
import type { StatusOptions, StatusView, WindowUpdateListener } from './views.js';
import { VersionPlans } from './version-plan.js';
import type { MonitorWindow } from './window.js';

export interface MonitorStateOptions extends IngestOptions {
  /** How this replica shares its open windows with the service's other replicas. */
  replicas?: Partial<ReplicaWindowsOptions>;
}

export class MonitorState {
  readonly ingest: Ingest;
  readonly options: MonitorStateOptions;

  constructor(
    private readonly _registry: Registry,
    private readonly _store: MonitoringStore,
    options: Partial<MonitorStateOptions> = {},
    captureStore: CaptureStore | null = null
  ) {
    this._plans = new VersionPlans(_registry);
    this._settled = new SettledWindows(_store);
    this._capture = captureStore ? new Capture(captureStore) : null;
    this.ingest = new Ingest(this._plans, _store, options, (windows) => this._settled.stored(windows), this._capture);
    this.options = { ...this.ingest.options, replicas: options.replicas };
    this._replicas = new ReplicaWindows(_store, this._settled, options.replicas);
    // Closes windows nobody sends traffic to any more, tells listeners, prunes, shares the open windows with the other replicas: about once a second.
    this._timer = setInterval(() => this.tick(), Math.min(1000, this.options.windowSeconds * 1000));
    this._timer.unref();
  }

  observe(event: ObservedInference): void {
    this.ingest.observe(event);
  }

  onUpdate(listener: WindowUpdateListener): void {
    this.ingest.onUpdate(listener);
  }

  /** Joins ground truth to logged predictions (those still buffered included) and adds it to their windows' performance. */
  feedback(model: string, items: readonly FeedbackItem[]): number {
    if (this._closed) return 0;
    this.ingest.flush();
    const joined = joinFeedback(this._store, model, items, this.options.now);
    this._capture?.recordTruth(model, items.map((i) => ({ key: i.requestId, truth: i.groundTruth })));
    return joined;
  }

  /** What the timer does about once a second (tests call it in place of waiting). */
  tick(): void {
    this.ingest.tick();
    try {
      // Windows closed just now are written first, so that they leave the partials as they reach the store.
      this.ingest.flush();
      this._replicas.tick(this.ingest.openWindowList, this.ingest.takeTouched(), this.options.now());
    } catch (error) {
      this.options.log(`monitoring could not share its open windows with the other replicas: ${(error as Error).message}`);
    }
  }

  /** The model's monitoring over the last `lastSeconds`, merged from settled and open windows (every replica's). */
  status(model: string, lastSeconds = 900, requestedVersion?: number, options: StatusOptions = {}): StatusView {
    const { open, settledBefore } = this._windowsNow(model);
    return monitoringStatus(
      {
        registry: this._registry,
        store: this._store,
        plans: this._plans,
        windowSeconds: this.options.windowSeconds,
        now: this.options.now(),
        settled: (from, to) => this._settled.span(model, from, to, settledBefore),
        open
      },
      model,
      lastSeconds,
      requestedVersion,
      options
    );
  }

  /**
   * The span of a `status` view over time (series.ts): per bucket of windows, operations of
   * every version, and drift and performance of the version the view describes.
   */
  series(model: string, view: Pick<StatusView, 'from' | 'to' | 'version'>, alerts?: readonly ChartAlert[]): MonitorSeries {
    const { open, settledBefore } = this._windowsNow(model);
    return monitoringSeries(
      {
        store: this._store,
        plans: this._plans,
        windowSeconds: this.options.windowSeconds,
        stored: (from, to) => this._settled.windows(model, from, to),
        open,
        settledBefore,
        cache: this._seriesCache
      },
      model,
      view,
      alerts
    );
  }

  /** The captured rows of a model (served answers, or a shadow version's), oldest first. */
  captured(query: CaptureQuery): CapturedTable {
    if (!this._capture) throw new Error('this monitor keeps no captured requests');
    this.ingest.flush();
    return capturedTable(this._capture.read(query), this._plans);
  }

  /** Captured requests as they were kept, with the ground truth received for their rows (by feedback key), for a replay. */
  capturedRequests(query: CaptureQuery): { requests: CapturedRequest[]; truth: Record<string, unknown> } {
    if (!this._capture) throw new Error('this monitor keeps no captured requests');
    this.ingest.flush();
    const requests = this._capture.read(query);
    const keys = requests.flatMap((r) => (r.rows === 1 ? [r.requestId, `${r.requestId}#0`] : Array.from({ length: r.rows }, (_, i) => `${r.requestId}#${i}`)));
    return { requests, truth: Object.fromEntries(this._capture.truthOf(query.model, keys)) };
  }

  /** Models whose windows other replicas published in the last few seconds. */
  modelsElsewhere(): string[] {
    try {
      return this._store.partialModels(this.options.now() - 3000);
    } catch {
      return [];
    }
  }

  /**
   * The model's open windows — this replica's and those the others published — and where its
   * settled windows end: at the oldest window still open anywhere. Caches first forget the
   * windows the other replicas wrote.
   */
  private _windowsNow(model: string): { open: MonitorWindow[]; settledBefore: number } {
    this.ingest.flush();
    const now = this.options.now();
    this._replicas.refresh(now);
    const others = this._replicas.others(model, 0, Number.MAX_SAFE_INTEGER);
    return {
      open: [...this.ingest.openWindowsOf(model), ...others],
      settledBefore: Math.min(this.ingest.settledBefore(model), this._replicas.openSince(others))
    };
  }

  /** Writes the buffered predictions and the windows closed since the last flush. */
  flush(): void {
    this.ingest.flush();
  }

  /** Persists everything, open windows included; takes no more events. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this._timer);
    this.ingest.close();
  }

  get openWindows(): number {
    return this.ingest.openWindows;
  }

  get droppedPredictions(): number {
    return this.ingest.droppedPredictions;
  }

  private readonly _plans: VersionPlans;
  private readonly _capture: Capture | null;
  private readonly _settled: SettledWindows;
  private readonly _replicas: ReplicaWindows;
  private readonly _seriesCache = new SeriesCache();
  private readonly _timer: NodeJS.Timeout;
  private _closed = false;
}
