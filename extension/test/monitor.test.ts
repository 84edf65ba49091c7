/**
 * The monitor renderer in jsdom: the snapshot a payload carries drawn without a service, and
 * live updates from a real `nbdeploy serve` through the extension's ServiceClient — data
 * swapped into the same chart, the time-range selector, the snapshot written back into the
 * output without a re-draw loop, errors as a status line, everything let go on dispose.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';

import { MONITOR_MIME_TYPE } from '../src/mime.js';
import { RenderedMonitor, mergeMonitorPayload, monitorRendererFactory } from '../src/monitor.js';
import type { IMonitorPayload } from '../src/payloads.js';
import { ServiceClient } from '../src/service-client.js';
import { rendererOptions } from './helpers.js';
import { IRIS_METADATA, fixture, fp32 } from '../../test/support/models.js';
import { NotebookClient } from '../../test/support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../../test/support/service.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const MEANS = [5.8, 3.0, 3.8, 1.2];

let service: ServiceProcess;
let setup: NotebookClient;
let snapshot: IMonitorPayload;
const widgets: Widget[] = [];
const clients: ServiceClient[] = [];

function rows(n: number, seed: number): number[][] {
  let s = seed;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Array.from({ length: n }, () => MEANS.map(m => m + (u() - 0.5)));
}

async function traffic(requests: number, seed: number): Promise<void> {
  for (let i = 0; i < requests; i++) await setup.call({ type: 'infer', model: 'iris', inputs: [fp32('input', rows(10, seed + i))] });
}

function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const value = check();
      if (value !== undefined && value !== false) resolve(value as T);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 25);
    };
    poll();
  });
}

/** An output model as JupyterLab's OutputArea keeps one: setData stores the data and renders the same renderer again. */
function outputModel(payload: unknown, renderer: () => RenderedMonitor): IRenderMime.IMimeModel & { writes: Array<Record<string, unknown>> } {
  const model = {
    trusted: false,
    data: { [MONITOR_MIME_TYPE]: payload, 'text/plain': 'Monitoring of iris' } as IRenderMime.IMimeModel['data'],
    metadata: {},
    writes: [] as Array<Record<string, unknown>>,
    setData(options: IRenderMime.IMimeModel.ISetDataOptions) {
      model.writes.push(options.data as Record<string, unknown>);
      model.data = JSON.parse(JSON.stringify(options.data));
      void renderer().renderModel(model);
    }
  };
  return model;
}

function create(client: ServiceClient | null, options = {}): RenderedMonitor {
  const widget = monitorRendererFactory(client, options).createRenderer(rendererOptions(MONITOR_MIME_TYPE)) as RenderedMonitor;
  widgets.push(widget);
  Widget.attach(widget, document.body);
  return widget;
}

function connect(): ServiceClient {
  const client = new ServiceClient({ url: `${service.wsUrl}?token=${service.token}`, WebSocket: NodeWebSocket as unknown as typeof WebSocket });
  clients.push(client);
  return client;
}

const sum = (values: unknown[], field: string) => values.reduce((s: number, v) => s + ((v as Record<string, number>)[field] ?? 0), 0);

beforeAll(async () => {
  service = await startService({ args: ['--monitor-window-seconds', '1'] });
  setup = await NotebookClient.connect(service);
  const sample = rows(500, 1);
  const profile = { features: Object.fromEntries(FEATURES.map((name, j) => [name, { kind: 'numeric', null_rate: 0, sample: sample.map(r => r[j]) }])) };
  const registered = await setup.register('iris', fixture('iris_classifier.onnx'), { profile, metadata: IRIS_METADATA });
  await setup.promote('iris', registered.version);
  await traffic(3, 100);
  snapshot = (await setup.call({ type: 'monitor', model: 'iris', last_seconds: 300 })).payload;
}, 60_000);

afterEach(() => {
  widgets.splice(0).forEach(w => w.dispose());
  clients.splice(0).forEach(c => c.dispose());
});

afterAll(async () => {
  setup?.socket.close();
  await cleanup();
});

describe('mergeMonitorPayload', () => {
  const T = Date.UTC(2026, 0, 1, 12, 0, 0);
  const payload = (from: number, to: number, series: Record<string, unknown>): IMonitorPayload => ({
    model: 'm',
    version: 1,
    last_seconds: (to - from) / 1000,
    window_seconds: 60,
    bucket_seconds: 60,
    generated_at: new Date(to).toISOString(),
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    series: { ops: [], features: [{ f: 0, feature: 'a' }], ...series } as IMonitorPayload['series'],
    panels: ['traffic', 'latency'],
    spec: {}
  });
  const ops = (...ts: number[]) => ts.map(t => ({ t: T + t * 60_000, requests: t, errors: 0, rows: t, throughput_per_s: 0, p50: null, p95: null, p99: null }));
  const drift = (...ts: number[]) => ts.map(t => ({ t: T + t * 60_000, statistic: [t], p_value: [0.5], drifted: [0] }));

  it('should keep the settled buckets still in the span and take the rest from the reply', () => {
    const before = payload(T, T + 240_000, { ops: ops(0, 1, 2, 3, 4), drift: drift(0, 2, 3), errors: [], integrity: null, settled_until: T + 180_000 });
    const reply = payload(T + 90_000, T + 330_000, { ops: ops(3, 4, 5), drift: drift(3, 5), errors: [{ t: T + 300_000, code: 'X', count: 1 }], integrity: null, since: T + 180_000, settled_until: T + 300_000 });
    const merged = mergeMonitorPayload(before, reply)!;
    expect(merged.series.ops.map(o => o.requests)).toEqual([1, 2, 3, 4, 5]); // bucket 0 left the span
    expect((merged.series.drift as Array<{ statistic: number[] }>).map(d => d.statistic[0])).toEqual([2, 3, 5]);
    expect(merged.series.errors).toEqual([{ t: T + 300_000, code: 'X', count: 1 }]);
    expect(merged.series.integrity).toBeNull();
    expect(merged.series.since).toBeUndefined();
    expect(merged.series.settled_until).toBe(T + 300_000);
    expect(merged.generated_at).toBe(reply.generated_at);
    // A whole reply replaces the snapshot.
    const whole = { ...reply, series: { ...reply.series, since: undefined } };
    expect(mergeMonitorPayload(before, whole)).toBe(whole);
  });

  it('should refuse to merge when the drift cells or the buckets do not line up', () => {
    const before = payload(T, T + 240_000, { ops: ops(0, 1), settled_until: T + 60_000 });
    const other = payload(T, T + 240_000, { ops: ops(1), since: T + 60_000, features: [{ f: 0, feature: 'b' }] });
    expect(mergeMonitorPayload(before, other)).toBeNull();
    expect(mergeMonitorPayload(before, { ...payload(T, T + 240_000, { ops: ops(1), since: T + 60_000 }), bucket_seconds: 120 })).toBeNull();
  });
});

describe('RenderedMonitor', () => {
  it('should draw the snapshot a payload carries without a service', async () => {
    const widget = create(null);
    await widget.renderModel(outputModel(snapshot, () => widget));
    const svg = widget.node.querySelector('.jp-nbdeploy-monitorChart svg');
    expect(svg).not.toBeNull();
    // The panels' marks: the latency lines and the drift heatmap, with feature names.
    expect(svg!.querySelector('.mark-line path')).not.toBeNull();
    expect(svg!.querySelectorAll('.mark-rect path').length).toBeGreaterThan(0);
    expect(svg!.textContent).toContain('petal_le'); // long names are cut to the axis' label limit
    expect(widget.node.querySelector('.jp-nbdeploy-title')!.textContent).toBe('Monitoring iris v1');
    const status = widget.node.querySelector('.jp-nbdeploy-monitorStatus') as HTMLElement;
    expect(status.textContent).toMatch(/^Snapshot from \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    // The chart's data are the payload's.
    expect(sum(widget.chart.view!.data('ops'), 'requests')).toBe(3);
    // No service: the range selector cannot fetch another span.
    const buttons = [...widget.node.querySelectorAll<HTMLButtonElement>('.jp-nbdeploy-range')];
    expect(buttons.map(b => b.textContent)).toEqual(['5m', '15m', '1h', '6h', '24h']);
    expect(buttons.every(b => b.disabled)).toBe(true);
    expect(buttons.find(b => b.getAttribute('aria-pressed') === 'true')!.textContent).toBe('5m');
  });

  it('should say when an output cannot be read, and draw nothing', async () => {
    const widget = create(null);
    await widget.renderModel(outputModel({ model: 'iris' }, () => widget));
    expect(widget.node.querySelector('.jp-nbdeploy-error')!.textContent).toContain('could not be read');
    expect(widget.node.querySelector('svg')).toBeNull();
  });

  it('should update live as traffic flows, in the same chart, and write the snapshot back without drawing it again', async () => {
    const client = connect();
    const asked: Array<Record<string, unknown>> = [];
    const request = client.request.bind(client);
    client.request = (message => (asked.push(message), request(message))) as typeof client.request;
    const widget = create(client, { refreshMs: 100, writeBackMs: 0 });
    const model = outputModel(snapshot, () => widget);
    await widget.renderModel(model);
    const view = widget.chart.view;
    await until(() => widget.node.querySelector('.jp-nbdeploy-monitorStatus')!.textContent!.startsWith('Live'), 'the live status');
    await traffic(4, 200);
    // 3 + 4 requests in the chart, through stats events and a fresh `monitor` payload.
    await until(() => sum(widget.chart.view!.data('ops'), 'requests') === 7, 'the new traffic in the chart');
    expect(sum(widget.payload!.series.ops, 'requests')).toBe(7);
    expect(widget.chart.view).toBe(view); // data swapped in place: no re-draw
    // The latest snapshot went back into the output, with a fresh SVG fallback, and did not loop.
    // A write made between a live stats event and the next `monitor` reply carries the reply's
    // text a refresh behind the series: the one to check is the write once both have caught up.
    const consistent = (w: Record<string, unknown>): boolean =>
      String(w['text/plain']).includes(`traffic: ${sum((w[MONITOR_MIME_TYPE] as IMonitorPayload).series.ops, 'requests')} requests,`);
    const written = await until(() => model.writes.find(w => consistent(w) && sum((w[MONITOR_MIME_TYPE] as IMonitorPayload).series.ops, 'requests') === 7), 'a write-back whose summary counts all the traffic');
    expect(sum((written[MONITOR_MIME_TYPE] as IMonitorPayload).series.ops, 'requests')).toBeGreaterThanOrEqual(3);
    expect(String(written['image/svg+xml'])).toMatch(/^<svg/);
    expect(written['text/plain']).toMatch(/^Monitoring of iris v1 over the last 5m \(to /);
    expect(widget.chart.view).toBe(view);
    // Only the buckets not settled were asked for; the snapshot written is whole all the same:
    // one row per bucket over the span, adding up to the traffic of the span's text summary.
    expect(asked.filter(m => m.type === 'monitor').length).toBeGreaterThan(0);
    expect(asked.filter(m => m.type === 'monitor').every(m => m.since === snapshot.series.settled_until || (typeof m.since === 'number' && m.since > snapshot.series.settled_until!))).toBe(true);
    const whole = written[MONITOR_MIME_TYPE] as IMonitorPayload;
    expect(whole.series.since).toBeUndefined();
    const bucketMs = whole.bucket_seconds * 1000;
    expect(whole.series.ops[0]!.t).toBe(Math.floor(Date.parse(whole.from) / bucketMs) * bucketMs);
    expect(whole.series.ops.every((o, i) => i === 0 || o.t === whole.series.ops[i - 1]!.t + bucketMs)).toBe(true);
    expect(whole.series.ops.at(-1)!.t).toBeGreaterThan(Date.parse(whole.to) - bucketMs - 1);
    expect(String(written['text/plain'])).toContain(`traffic: ${sum(whole.series.ops, 'requests')} requests,`);
    expect(whole.status).toBeUndefined(); // the status summary is the reply's, not the output's
    expect(sum(widget.chart.view!.data('ops'), 'requests')).toBe(sum(widget.payload!.series.ops, 'requests'));
    // The re-render that setData causes (OutputArea calls renderModel again) draws nothing.
    let drawn = 0;
    const update = widget.chart.update.bind(widget.chart);
    const draw = widget.chart.draw.bind(widget.chart);
    widget.chart.update = data => (drawn++, update(data));
    widget.chart.draw = (spec, data) => (drawn++, draw(spec, data));
    await widget.renderModel(model);
    expect(drawn).toBe(0);
  });

  it('should fetch another span from the range selector', async () => {
    const client = connect();
    const widget = create(client, { refreshMs: 100 });
    await widget.renderModel(outputModel(snapshot, () => widget));
    await until(() => widget.node.querySelector<HTMLButtonElement>('.jp-nbdeploy-range')!.disabled === false, 'enabled ranges');
    widget.node.querySelector<HTMLButtonElement>('button[data-seconds="3600"]')!.click();
    await until(() => widget.payload!.last_seconds === 3600, 'the 1h payload');
    expect(widget.payload!.bucket_seconds).toBe(60);
    expect(widget.node.querySelector('button[aria-pressed="true"]')!.textContent).toBe('1h');
    const params = widget.chart.view!.signal('t_to') - widget.chart.view!.signal('t_from');
    expect(params).toBe(3_600_000);
  });

  it('should keep the chart and show a status line when the model is gone', async () => {
    const client = connect();
    const widget = create(client, { refreshMs: 50 });
    await widget.renderModel(outputModel({ ...snapshot, model: 'no-such-model' }, () => widget));
    const status = widget.node.querySelector('.jp-nbdeploy-monitorStatus') as HTMLElement;
    await until(() => status.dataset.state === 'error', 'the error status');
    expect(status.textContent).toContain('model no-such-model no longer exists');
    expect(widget.node.querySelector('.jp-nbdeploy-monitorChart svg')).not.toBeNull();
  });

  it('should stop asking the service and free the chart on dispose', async () => {
    const client = connect();
    const widget = create(client, { refreshMs: 50 });
    await widget.renderModel(outputModel(snapshot, () => widget));
    await until(() => widget.node.querySelector('.jp-nbdeploy-monitorStatus')!.textContent!.startsWith('Live'), 'the live status');
    let requests = 0;
    const request = client.request.bind(client);
    client.request = (message => {
      if (message.type === 'monitor') requests++;
      return request(message);
    }) as typeof client.request;
    widget.dispose();
    expect(widget.chart.isDisposed).toBe(true);
    await traffic(3, 300);
    await new Promise(r => setTimeout(r, 1500)); // past a stats event
    expect(requests).toBe(0);
  });
});
