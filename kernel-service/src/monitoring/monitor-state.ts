/**
 * Everything monitoring knows, in one thread: ingest (open windows, the predictions log,
 * captured requests), the settled windows cached for long spans, the feedback join, and the
 * queries — `status`, the series behind the monitor chart, and the captured rows. The monitoring worker (monitor-worker.ts) runs one
 * on its own database connection; tests run one in place.
 *
 * Events are observed in the order given: at once when their version's plan is loaded, else
 * after it is read from the registry (and after the events before them). Every query and the
 * feedback join first wait for the events observed before them, then flush.
 */
import type { Registry } from '../registry/registry.js';
import { Capture } from './capture.js';
import type { CaptureQuery, CaptureStore, CapturedRequest } from './capture-store.js';
import { type CapturedTable, capturedTable } from './captured-table.js';
import { type FeedbackItem, joinFeedback } from './feedback.js';
import { type InspectFindings, inspectFindings } from './inspect-report.js';
import { Ingest, type IngestOptions, type ObservedInference } from './ingest.js';
import { monitoringSeries } from './monitor-series.js';
import { type ChartAlert, type MonitorSeries, SeriesCache } from './series.js';
import { ReplicaWindows } from './replica-windows.js';
import { SettledWindows } from './settled-windows.js';
import { monitoringStatus } from './status.js';
import type { MonitoringStore } from './store.js';
import type { StatusOptions, StatusView, WindowUpdateListener } from './views.js';
import { VersionPlans } from './version-plan.js';
import type { MonitorWindow } from './window.js';

/** What `inspect` asks of monitoring (ms times). */
export interface InspectQuery {
  model: string;
  version: number;
  feature?: string;
  from: number;
  to: number;
  /** Rows read at most, the oldest first. */
  limit: number;
}

export class MonitorState {
  readonly ingest: Ingest;
  readonly options: IngestOptions;

  constructor(
    private readonly _registry: Registry,
    private readonly _store: MonitoringStore,
    options: Partial<IngestOptions> = {},
    captureStore: CaptureStore | null = null
  ) {
    this._plans = new VersionPlans(_registry);
    this._settled = new SettledWindows(_store);
    this._capture = captureStore ? new Capture(captureStore) : null;
    this._opening = this._capture ? this._capture.open() : null;
    // (A failure is reported by the events that wait for it.)
    this._opening?.catch(() => {});
    this.ingest = new Ingest(this._plans, _store, options, (windows) => this._settled.stored(windows), this._capture);
    this.options = this.ingest.options;
    this._replicas = new ReplicaWindows(_store, this._settled);
    // Closes windows nobody sends traffic to any more, tells listeners, prunes, shares the open windows with the other replicas: about once a second.
    this._timer = setInterval(() => void this.tick(), Math.min(1000, this.options.windowSeconds * 1000));
    this._timer.unref();
  }

  observe(event: ObservedInference): void {
    if (this._observing === null && this._opening === null && this._plans.get(event.model, event.version) !== undefined) {
      this.ingest.observe(event);
      return;
    }
    const observed = this._observeLater(this._observing, event);
    this._observing = observed;
    void observed.then(() => {
      if (this._observing === observed) this._observing = null;
    });
  }

  private async _observeLater(before: Promise<void> | null, event: ObservedInference): Promise<void> {
    await before;
    try {
      if (this._opening) {
        await this._opening;
        this._opening = null;
      }
      await this._plans.load(event.model, event.version);
      this.ingest.observe(event);
    } catch (error) {
      this.options.log(`monitoring could not observe a request to version ${event.version} of "${event.model}": ${(error as Error).message}`);
    }
  }

  /** Waits for the events given before (whose plans were being read), then writes what is buffered. */
  private async _caughtUp(): Promise<void> {
    await this._observing;
    await this.ingest.flush();
  }

  onUpdate(listener: WindowUpdateListener): void {
    this.ingest.onUpdate(listener);
  }

  /** Joins ground truth to logged predictions (those still buffered included) and adds it to their windows' performance. */
  async feedback(model: string, items: readonly FeedbackItem[]): Promise<number> {
    if (this._closed) return 0;
    await this._caughtUp();
    const joined = await joinFeedback(this._store, model, items, this.options.now);
    await this._capture?.recordTruth(model, items.map((i) => ({ key: i.requestId, truth: i.groundTruth })));
    return joined;
  }

  /** What the timer does about once a second (tests call it in place of waiting); never rejects. */
  async tick(): Promise<void> {
    await this.ingest.tick();
    try {
      // Windows closed just now are written first, so that they leave the partials as they reach the store.
      await this._caughtUp();
      await this._replicas.tick(this.ingest.openWindowList, this.ingest.takeTouched(), this.options.now());
    } catch (error) {
      this.options.log(`monitoring could not share its open windows with the other replicas: ${(error as Error).message}`);
    }
  }

  /** The model's monitoring over the last `lastSeconds`, merged from settled and open windows (every replica's). */
  async status(model: string, lastSeconds = 900, requestedVersion?: number, options: StatusOptions = {}): Promise<StatusView> {
    const { open, settledBefore } = await this._windowsNow(model);
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
  async series(model: string, view: Pick<StatusView, 'from' | 'to' | 'version'>, alerts?: readonly ChartAlert[]): Promise<MonitorSeries> {
    const { open, settledBefore } = await this._windowsNow(model);
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
  async captured(query: CaptureQuery): Promise<CapturedTable> {
    if (!this._capture) throw new Error('this monitor keeps no captured requests');
    await this._caughtUp();
    const requests = await this._capture.read(query);
    for (const version of new Set(requests.map((r) => r.version))) await this._plans.load(query.model, version);
    return capturedTable(requests, this._plans);
  }

  /** Captured requests as they were kept, with the ground truth received for their rows (by feedback key), for a replay. */
  async capturedRequests(query: CaptureQuery): Promise<{ requests: CapturedRequest[]; truth: Record<string, unknown> }> {
    if (!this._capture) throw new Error('this monitor keeps no captured requests');
    await this._caughtUp();
    const requests = await this._capture.read(query);
    const keys = requests.flatMap((r) => (r.rows === 1 ? [r.requestId, `${r.requestId}#0`] : Array.from({ length: r.rows }, (_, i) => `${r.requestId}#${i}`)));
    return { requests, truth: Object.fromEntries(await this._capture.truthOf(query.model, keys)) };
  }

  /**
   * What `inspect` reads: the rows `query.version` served and captured in [from, to) (at most
   * `limit`, the oldest first), and — when there are any — the findings on `query.feature`
   * (or the most drifted) against the version's profile, with the integrity of the span's windows.
   */
  async inspect(query: InspectQuery): Promise<{ findings: InspectFindings | null; table: CapturedTable; truncated: boolean }> {
    if (!this._capture) throw new Error('this monitor keeps no captured requests');
    await this._capture.open();
    await this._caughtUp();
    const { model, version, from, to, limit } = query;
    const plan = await this._plans.load(model, version);
    if (!plan) throw new Error(`model "${model}" has no version ${version}`);
    const requests = await this._capture.read({ model, from, to, version, shadow: false, maxRows: limit + 1 });
    const whole = capturedTable(requests, this._plans);
    const truncated = whole.rows.length > limit;
    const table = truncated ? { ...whole, rows: whole.rows.slice(0, limit) } : whole;
    if (table.rows.length === 0) return { findings: null, table, truncated };
    const { open } = await this._windowsNow(model);
    const windows = [...(await this._settled.windows(model, from, to)), ...open.filter((w) => w.start < to).map((w) => w.toJSON())];
    const capture = this._capture;
    const findings = inspectFindings({ model, version, from, to, table, truncated, plan, feature: query.feature, windows, hashOf: (v) => capture.hashOf(v) });
    return { findings, table, truncated };
  }

  /**
   * The model's open windows — this replica's and those the others published — and where its
   * settled windows end: at the oldest window still open anywhere. Caches first forget the
   * windows the other replicas wrote.
   */
  private async _windowsNow(model: string): Promise<{ open: MonitorWindow[]; settledBefore: number }> {
    await this._caughtUp();
    const now = this.options.now();
    await this._replicas.refresh(now);
    const others = await this._replicas.others(model, 0, Number.MAX_SAFE_INTEGER);
    return {
      open: [...this.ingest.openWindowsOf(model), ...others],
      settledBefore: Math.min(this.ingest.settledBefore(model), this._replicas.openSince(others))
    };
  }

  /** Writes the buffered predictions and the windows closed since the last flush (after the events given before). */
  flush(): Promise<void> {
    return this._caughtUp();
  }

  /** Persists everything, open windows included (the events given before too); takes no more events. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this._timer);
    await this._observing;
    await this.ingest.close();
  }

  get openWindows(): number {
    return this.ingest.openWindows;
  }

  get droppedPredictions(): number {
    return this.ingest.droppedPredictions;
  }

  private readonly _plans: VersionPlans;
  /** The events waiting for their plans (in order), or null when none wait. */
  private _observing: Promise<void> | null = null;
  /** The capture's salt being read, until the first event that needs it waited for it. */
  private _opening: Promise<void> | null;
  private readonly _capture: Capture | null;
  private readonly _settled: SettledWindows;
  private readonly _replicas: ReplicaWindows;
  private readonly _seriesCache = new SeriesCache();
  private readonly _timer: NodeJS.Timeout;
  private _closed = false;
}
