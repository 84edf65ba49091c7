/**
 * The monitor renderer (`application/vnd.nbdeploy.monitor+json`, from `nd.monitor`): the
 * payload's Vega-Lite chart, drawn at once from the snapshot it carries; where the service
 * is reachable, live — the model's events (at most one refresh per interval) bring a fresh
 * `monitor` payload with only the buckets not settled yet (`since`), merged into the
 * snapshot and into the drawn chart (vega changesets) — with a time-range selector, and the
 * latest whole snapshot written back into the output now and then, so a saved notebook
 * shows it without the service. Errors show as a status line above the last chart. In a
 * notebook with a kernel, a click on a drifted cell or an integrity bar inspects it (triage-click.ts).
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

/** Lumino's message type (from @lumino/messaging, which the extension does not depend on directly). */
type Message = Parameters<Widget['processMessage']>[0];

import { formatTime, h } from './dom.js';
import { MONITOR_MIME_TYPE, RENDERER_RANK } from './mime.js';
import type { IMonitorPayload } from './payloads.js';
import { type ConnectionState, type ServiceClient, ServiceRequestError } from './service-client.js';
import { type ChartNotebookFinder, ChartTriage, INSPECTABLE_PARAM } from './triage-click.js';
import { type IChartData, type IClickedItem, type IDatasetChange, VegaView } from './vega-view.js';

/** The class of the renderer's node. */
const RENDERER_CLASS = 'jp-nbdeploy-Monitor';

/** The spans the selector offers, in seconds. */
export const TIME_RANGES: ReadonlyArray<{ label: string; seconds: number }> = [
  { label: '5m', seconds: 300 },
  { label: '15m', seconds: 900 },
  { label: '1h', seconds: 3600 },
  { label: '6h', seconds: 21_600 },
  { label: '24h', seconds: 86_400 }
];

export interface IMonitorOptions {
  /** At most one `monitor` request per this many ms while events come, for spans up to 15 minutes (default 2 s); longer spans in proportion. */
  refreshMs?: number;
  /** Without events, a refresh this often anyway: the time axis moves on (default 30 s). */
  idleRefreshMs?: number;
  /** The snapshot is written back into the output at most this often (default 10 s). */
  writeBackMs?: number;
}

const DEFAULTS: Required<IMonitorOptions> = { refreshMs: 2000, idleRefreshMs: 30_000, writeBackMs: 10_000 };

/** The dataset names of a payload's chart: its series' arrays. */
function chartData(payload: IMonitorPayload): IChartData {
  const datasets: Record<string, unknown[]> = {};
  for (const [name, value] of Object.entries(payload.series)) {
    if (Array.isArray(value)) {
      datasets[name] = value;
    }
  }
  return {
    datasets,
    params: { t_from: Date.parse(payload.from), t_to: Date.parse(payload.to), bucket_ms: payload.bucket_seconds * 1000 }
  };
}

/** What makes two specs draw differently: anything in them but the parameters' values (the span). */
function layoutKey(payload: IMonitorPayload): string {
  return JSON.stringify({ ...payload.spec, params: undefined });
}

/** The series' datasets of rows per bucket (`t`): a reply to `since` has their rows from then on only. */
const BUCKET_DATASETS = ['ops', 'versions', 'errors', 'drift', 'drift_share', 'integrity'];

/** The start of the span's first bucket (ms): rows before it have left the span. */
function firstBucket(payload: IMonitorPayload): number {
  const bucketMs = payload.bucket_seconds * 1000;
  return Math.floor(Date.parse(payload.from) / bucketMs) * bucketMs;
}

const featuresOf = (payload: IMonitorPayload): string =>
  JSON.stringify(((payload.series.features as Array<{ feature: string }> | undefined) ?? []).map(f => f.feature));

/**
 * A reply to `since` merged into the snapshot it was asked from: the rows per bucket the
 * snapshot has before `since` (and still in the span), then the reply's; everything else the
 * reply's. Null when they do not fit together (other buckets, other drift features: the
 * drift cells are in the order of the features): a whole payload is needed.
 */
export function mergeMonitorPayload(snapshot: IMonitorPayload, reply: IMonitorPayload): IMonitorPayload | null {
  const since = reply.series.since;
  if (since === undefined) {
    return reply;
  }
  if (snapshot.bucket_seconds !== reply.bucket_seconds || snapshot.model !== reply.model || featuresOf(snapshot) !== featuresOf(reply)) {
    return null;
  }
  const first = firstBucket(reply);
  const series: IMonitorPayload['series'] = { ...reply.series };
  delete series.since;
  for (const name of BUCKET_DATASETS) {
    const kept = (snapshot.series[name] as Array<{ t: number }> | null | undefined) ?? [];
    const fresh = reply.series[name] as Array<{ t: number }> | null | undefined;
    series[name] = fresh === null || fresh === undefined ? fresh : [...kept.filter(row => row.t >= first && row.t < since), ...fresh];
  }
  return { ...reply, series };
}

/** The vega changesets that turn the chart of `snapshot` into that of the merged reply. */
function bucketChanges(reply: IMonitorPayload): Record<string, IDatasetChange> {
  const since = reply.series.since!;
  const first = firstBucket(reply);
  const changes: Record<string, IDatasetChange> = {};
  for (const name of BUCKET_DATASETS) {
    const fresh = reply.series[name];
    if (Array.isArray(fresh)) {
      changes[name] = { remove: row => (row.t as number) >= since || (row.t as number) < first, insert: fresh };
    }
  }
  return changes;
}

/** Identifies a snapshot (the one this renderer wrote back is not drawn again). */
function snapshotKey(payload: IMonitorPayload): string {
  return `${payload.model}|${payload.generated_at}|${payload.last_seconds}`;
}

function isPayload(value: unknown): value is IMonitorPayload {
  const p = value as IMonitorPayload | null;
  return (
    !!p &&
    typeof p === 'object' &&
    typeof p.model === 'string' &&
    typeof p.generated_at === 'string' &&
    typeof p.last_seconds === 'number' &&
    !!p.spec &&
    typeof p.spec === 'object' &&
    !!p.series &&
    Array.isArray(p.series.ops) &&
    Array.isArray(p.panels)
  );
}

/** A monitor chart in a notebook output, live while the service is reachable. */
export class RenderedMonitor extends Widget implements IRenderMime.IRenderer {
  /** `findNotebook` finds the notebook the chart is in, for clicks that inspect (none: clicks do nothing). */
  constructor(options: IRenderMime.IRendererOptions, client: ServiceClient | null, monitorOptions: IMonitorOptions = {}, findNotebook: ChartNotebookFinder | null = null) {
    super();
    this._mimeType = options.mimeType;
    this._client = client;
    this._options = { ...DEFAULTS, ...monitorOptions };
    this.addClass(RENDERER_CLASS);
    this._status = h('span', { className: 'jp-nbdeploy-monitorStatus', dataset: { state: 'snapshot' } });
    this._title = h('span', { className: 'jp-nbdeploy-title' });
    this._ranges = h('span', { className: 'jp-nbdeploy-ranges', title: 'Time range' });
    this._chart = h('div', { className: 'jp-nbdeploy-monitorChart' });
    this._triage = findNotebook ? new ChartTriage(this.node, findNotebook, () => void this._view.setParam(INSPECTABLE_PARAM, this._inspectable())) : null;
    this._view = new VegaView(this._chart, this._triage ? { onClick: item => void this._inspect(item) } : {});
    this.node.append(h('header', { className: 'jp-nbdeploy-header' }, this._title, this._ranges, this._status), this._chart);
  }

  /** The payload drawn now (the latest snapshot). */
  get payload(): IMonitorPayload | null {
    return this._payload;
  }

  /** The chart (for tests). */
  get chart(): VegaView {
    return this._view;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = model.data[this._mimeType] as unknown;
    this._model = model;
    if (isPayload(payload) && snapshotKey(payload) === this._written) {
      return; // the snapshot this renderer wrote back: already drawn
    }
    if (!isPayload(payload)) {
      this._payload = null;
      this._chart.replaceChildren(h('div', { className: 'jp-nbdeploy-error' }, 'This nbdeploy monitor output could not be read.'));
      this._setStatus('error', '');
      return;
    }
    const sameModel = this._payload?.model === payload.model;
    if (!sameModel) {
      this._span = payload.last_seconds;
      this._lastWrite = Date.now(); // the output holds this snapshot already
    }
    this._show(payload);
    this._renderRanges();
    await this._draw(payload);
    if (!sameModel) {
      this._connect(payload.model);
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._subscription?.dispose();
    this._subscription = null;
    this._client?.stateChanged.disconnect(this._onState, this);
    this._triage?.dispose();
    clearTimeout(this._refreshTimer);
    clearInterval(this._idleTimer);
    this._view.dispose();
    super.dispose();
  }

  /** Asks the service for a fresh payload now (no-op without a connected service). */
  async refresh(): Promise<void> {
    const client = this._client;
    const current = this._payload;
    if (!client || !current || this.isDisposed || client.state !== 'connected') {
      return;
    }
    if (this._inFlight) {
      this._again = true;
      return;
    }
    this._inFlight = true;
    this._lastRequest = Date.now();
    const writeBack = this._model !== null && Date.now() - this._lastWrite >= this._options.writeBackMs;
    // The settled buckets of the snapshot drawn are not asked for again (same span only).
    const since = current.last_seconds === this._span && !this._wholeNext ? current.series.settled_until : undefined;
    this._wholeNext = false;
    try {
      const reply = await client.request<{ type: string; payload: IMonitorPayload; text?: string; svg?: string }>({
        type: 'monitor',
        model: current.model,
        last_seconds: this._span,
        ...(current.version_pinned && current.version !== null ? { version: current.version } : {}),
        ...(writeBack ? { svg: true } : {}),
        ...(typeof since === 'number' ? { since } : {})
      });
      if (this.isDisposed || !isPayload(reply.payload)) {
        return;
      }
      const merged = mergeMonitorPayload(this._payload ?? current, reply.payload);
      if (!merged) {
        this._wholeNext = true; // e.g. other drift features: the next refresh asks for everything
        this._again = true;
        return;
      }
      this._show(merged);
      await this._draw(merged, reply.payload.series.since !== undefined ? bucketChanges(reply.payload) : undefined);
      this._setStatus('live', `Live · updated ${new Date().toLocaleTimeString()}`);
      if (writeBack) {
        this._writeBack(merged, reply.svg, reply.text);
      }
    } catch (error) {
      if (this.isDisposed) {
        return;
      }
      const code = error instanceof ServiceRequestError ? error.code : null;
      const reason =
        code === 'NBD_ERR_MODEL_NOT_FOUND'
          ? `model ${current.model} no longer exists`
          : code === 'NBD_ERR_VERSION_NOT_FOUND'
            ? `version ${current.version} no longer exists`
            : (error as Error).message;
      this._setStatus('error', `${this._snapshotText()} · ${reason}`);
    } finally {
      this._inFlight = false;
      if (this._again && !this.isDisposed) {
        this._again = false;
        this._scheduleRefresh();
      }
    }
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._triage?.locate(); // in a notebook now, perhaps
  }

  /** Whether a click on the chart can inspect now. */
  private _inspectable(): boolean {
    return this._triage?.inspectable ?? false;
  }

  /** A click on the chart: a drifted cell or an integrity bar becomes an inspect cell below this one. */
  private async _inspect(item: IClickedItem | null): Promise<void> {
    const payload = this._payload;
    if (!this._triage || !payload) {
      return;
    }
    try {
      await this._triage.click(item, payload.model, payload.bucket_seconds * 1000);
    } catch (error) {
      this._setStatus('error', `could not insert the inspect cell: ${(error as Error).message}`);
    }
  }

  private _connect(model: string): void {
    this._subscription?.dispose();
    this._subscription = null;
    clearInterval(this._idleTimer);
    const client = this._client;
    if (!client) {
      this._setStatus('snapshot', this._snapshotText());
      return;
    }
    // Any event of the model (traffic stats, windows, alerts, deployments) may change the chart.
    this._subscription = client.subscribe(model, () => this._scheduleRefresh());
    client.stateChanged.disconnect(this._onState, this);
    client.stateChanged.connect(this._onState, this);
    this._idleTimer = setInterval(() => this._scheduleRefresh(), this._options.idleRefreshMs);
    this._onState(client, client.state);
  }

  private _onState(_client: ServiceClient, state: ConnectionState): void {
    if (state === 'connected') {
      this._scheduleRefresh();
    } else {
      this._setStatus('snapshot', `${this._snapshotText()} · ${state === 'connecting' ? 'connecting to the service…' : 'service not reachable'}`);
    }
    this._renderRanges();
  }

  /** At most one request per refresh interval; events in between coalesce into the next one. */
  private _scheduleRefresh(): void {
    if (this.isDisposed || this._refreshPending) {
      return;
    }
    // Longer spans cost the service more per request (status merges every window of the span) and change
    // slowly (buckets of several windows): they refresh proportionally less often.
    const interval = this._options.refreshMs * Math.max(1, this._span / 900);
    const wait = Math.max(0, this._lastRequest + interval - Date.now());
    this._refreshPending = true;
    this._refreshTimer = setTimeout(() => {
      this._refreshPending = false;
      void this.refresh();
    }, wait);
  }

  private _show(payload: IMonitorPayload): void {
    this._payload = payload;
    const version = payload.version !== null ? ` v${payload.version}` : '';
    this._title.replaceChildren('Monitoring ', h('code', {}, payload.model), version);
    if (!this._client) {
      this._setStatus('snapshot', this._snapshotText());
    }
  }

  /** Draws the payload: into the chart drawn when only data changed (`changes`: by those rows), else afresh. */
  private async _draw(payload: IMonitorPayload, changes?: Record<string, IDatasetChange>): Promise<void> {
    this._triage?.locate();
    const data = chartData(payload);
    data.params[INSPECTABLE_PARAM] = this._inspectable();
    const layout = layoutKey(payload);
    try {
      if (layout === this._chartLayout && this._view.view) {
        await this._view.update(data, changes);
      } else {
        this._chartLayout = layout;
        await this._view.draw(payload.spec, data);
      }
    } catch (error) {
      this._chartLayout = null;
      this._setStatus('error', `the chart could not be drawn: ${(error as Error).message}`);
    }
  }

  /** The output gets the new payload, SVG fallback and text summary together, so viewers without the extension agree. */
  private _writeBack(payload: IMonitorPayload, svg: string | undefined, text: string | undefined): void {
    const model = this._model;
    if (!model) {
      return;
    }
    this._lastWrite = Date.now();
    this._written = snapshotKey(payload);
    const data = { ...model.data, [this._mimeType]: payload as unknown as IRenderMime.IMimeModel['data'][string] };
    if (svg) {
      data['image/svg+xml'] = svg;
    }
    if (text) {
      data['text/plain'] = text;
    }
    model.setData({ data });
  }

  private _renderRanges(): void {
    const live = this._client?.state === 'connected' && this._payload !== null;
    const ranges = TIME_RANGES.some(r => r.seconds === this._span) ? TIME_RANGES : [...TIME_RANGES, { label: `${this._span}s`, seconds: this._span }];
    this._ranges.replaceChildren(
      ...ranges.map(range => {
        const button = h('button', { className: 'jp-nbdeploy-range', dataset: { seconds: String(range.seconds) } }, range.label);
        button.type = 'button';
        button.disabled = !live;
        button.setAttribute('aria-pressed', String(range.seconds === this._span));
        if (!live) {
          button.title = 'Needs the nbdeploy service';
        }
        button.addEventListener('click', () => {
          this._span = range.seconds;
          this._renderRanges();
          this._lastRequest = 0;
          void this.refresh();
        });
        return button;
      })
    );
  }

  private _snapshotText(): string {
    return this._payload ? `Snapshot from ${formatTime(this._payload.generated_at)}` : '';
  }

  private _setStatus(state: 'snapshot' | 'live' | 'error', text: string): void {
    this._status.dataset.state = state;
    this._status.textContent = text;
  }

  private readonly _mimeType: string;
  private readonly _client: ServiceClient | null;
  private readonly _options: Required<IMonitorOptions>;
  private readonly _status: HTMLElement;
  private readonly _title: HTMLElement;
  private readonly _ranges: HTMLElement;
  private readonly _chart: HTMLElement;
  private readonly _view: VegaView;
  private readonly _triage: ChartTriage | null;
  private _model: IRenderMime.IMimeModel | null = null;
  private _payload: IMonitorPayload | null = null;
  private _span = 900;
  private _chartLayout: string | null = null;
  private _subscription: IDisposable | null = null;
  private _refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private _idleTimer: ReturnType<typeof setInterval> | undefined;
  private _refreshPending = false;
  private _inFlight = false;
  private _again = false;
  private _wholeNext = false;
  private _lastRequest = 0;
  private _lastWrite = 0;
  private _written: string | null = null;
}

/**
 * The monitor renderer's factory; `client` is the service connection when the service plugin
 * runs; `findNotebook` finds a chart's notebook when the notebook tracker is there.
 */
export function monitorRendererFactory(client: ServiceClient | null, options?: IMonitorOptions, findNotebook: ChartNotebookFinder | null = null): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [MONITOR_MIME_TYPE],
    defaultRank: RENDERER_RANK,
    createRenderer: rendererOptions => new RenderedMonitor(rendererOptions, client, options, findNotebook)
  };
}
