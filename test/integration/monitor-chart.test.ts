/**
 * The `monitor` message against a real `nbdeploy serve`: the chart's payload (series per
 * bucket of windows, the Vega-Lite spec) and the status of its span follow the traffic — requests and errors per
 * bucket, drift that starts when the inputs shift, performance once labels arrive — and the
 * service renders the chart to an SVG with marks.
 */
import { JSDOM } from 'jsdom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_METADATA, fixture, fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { IRIS_SDS, gaussian, irisProfile, irisRows } from '../support/iris-traffic.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let service: ServiceProcess;
let ws: NotebookClient;

beforeAll(async () => {
  // One-second windows: a few seconds of traffic make several points.
  service = await startService({ args: ['--monitor-window-seconds', '1'] });
  ws = await NotebookClient.connect(service);
  const registered = await ws.register('iris', IRIS, { profile: irisProfile(), metadata: IRIS_METADATA });
  await ws.promote('iris', registered.version);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

describe('monitor', () => {
  it('should chart traffic, errors, drift and performance per window, and render it to SVG', async () => {
    const g = gaussian(7);
    const sent: Array<{ id: string; labels: number[] }> = [];
    const infer = async (id: string, rows: number[][]) => {
      const reply = await ws.call({ type: 'infer', model: 'iris', request_id: id, inputs: [fp32('input', rows)] });
      sent.push({ id, labels: reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[] });
    };
    for (let r = 0; r < 5; r++) await infer(`normal-${r}`, irisRows(40, g));
    const failed = await ws.request({ type: 'infer', model: 'iris', inputs: [fp32('input', [[1, 2, 3]])] });
    expect(failed.code).toBe('NBD_ERR_INPUT_SHAPE');
    await sleep(1100); // the next window
    // petal_length shifted by 3 standard deviations
    for (let r = 0; r < 5; r++) await infer(`shifted-${r}`, irisRows(40, g, [0, 0, 3 * IRIS_SDS[2]!, 0]));
    // ground truth for the first window's predictions: every label right
    const ids = sent.filter((s) => s.id.startsWith('normal')).flatMap((s) => s.labels.map((_, i) => `${s.id}#${i}`));
    const truth = sent.filter((s) => s.id.startsWith('normal')).flatMap((s) => s.labels);
    expect((await ws.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: truth })).count).toBe(200);

    const reply = await ws.call({ type: 'monitor', model: 'iris', last_seconds: 30, svg: true });
    expect(reply.type).toBe('monitor');
    const p = reply.payload;
    expect(p).toMatchObject({ model: 'iris', version: 1, last_seconds: 30, window_seconds: 1, bucket_seconds: 1 });
    expect(Date.parse(p.to) - Date.parse(p.from)).toBe(30_000);
    expect(p.generated_at).toBe(p.to);
    // The status summary of the same span comes beside the payload (the notebook output does not carry it).
    expect(p.status).toBeUndefined();
    expect(reply.status).toMatchObject({ model: 'iris', version: 1, from: p.from, to: p.to });
    expect(reply.status.ops).toMatchObject({ requests: 11, errors: 1, rows: 401 });
    // One point per one-second bucket over the span; the traffic adds up.
    const ops = p.series.ops as Array<{ t: number; requests: number; errors: number; rows: number; p50: number | null }>;
    expect(ops.length).toBeGreaterThanOrEqual(30);
    expect(ops.length).toBeLessThanOrEqual(31);
    expect(ops.reduce((s, o) => s + o.requests, 0)).toBe(11);
    expect(ops.reduce((s, o) => s + o.rows, 0)).toBe(401);
    expect(ops.filter((o) => o.requests > 0).length).toBeGreaterThanOrEqual(2);
    for (const o of ops) expect(o.requests > 0).toBe(o.p50 !== null);
    expect(p.series.errors).toEqual([expect.objectContaining({ code: 'NBD_ERR_INPUT_SHAPE', count: 1 })]);
    expect(p.series.versions.reduce((s: number, v: { requests: number }) => s + v.requests, 0)).toBe(11);
    // Drift per feature per window (a row per bucket, a cell per feature of `features`):
    // petal_length drifts in the windows after the shift only.
    const feature = (p.series.features as Array<{ f: number; feature: string; method: string }>).find((f) => f.feature === 'petal_length')!;
    expect(feature.method).toBe('ks');
    const petal = (p.series.drift as Array<{ t: number; drifted: Array<number | null> }>)
      .filter((d) => d.drifted[feature.f] !== null)
      .map((d) => ({ t: d.t, drifted: d.drifted[feature.f] === 1 }));
    expect(petal.length).toBeGreaterThanOrEqual(2);
    const firstShifted = Math.min(...petal.filter((d) => d.drifted).map((d) => d.t));
    expect(petal.filter((d) => d.t < firstShifted).every((d) => !d.drifted)).toBe(true);
    expect(petal.filter((d) => d.t < firstShifted).length).toBeGreaterThanOrEqual(1);
    expect(p.series.drift_features).toContain('petal_length');
    expect(p.series.drift_share.some((d: { share: number }) => d.share > 0)).toBe(true);
    // Performance where the labels joined: accuracy 1 (the truth was the prediction).
    const accuracy = (p.series.performance as Array<{ accuracy?: number; t: number }>).filter((m) => m.accuracy !== undefined).map((m) => ({ t: m.t, value: m.accuracy }));
    expect(accuracy.length).toBeGreaterThanOrEqual(1);
    expect(accuracy.every((m) => m.value === 1 && m.t < firstShifted)).toBe(true);
    // No integrity counts or alerts in this service: the panels say so.
    expect(p.panels).toEqual(expect.arrayContaining(['traffic', 'latency', 'drift', 'performance']));
    // The spec is Vega-Lite with the time span as parameters and the data by name.
    expect(p.spec.$schema).toMatch(/vega-lite/);
    expect(p.spec.params).toEqual([
      { name: 't_from', value: Date.parse(p.from) },
      { name: 't_to', value: Date.parse(p.to) },
      { name: 'bucket_ms', value: 1000 },
      { name: 'inspectable', value: false } // the extension sets it where a click can inspect
    ]);
    // The layers a click inspects are named, so the extension knows their marks.
    const layers = (p.spec.vconcat as Array<{ layer: Array<{ name?: string }> }>).flatMap((panel) => panel.layer.map((l) => l.name)).filter(Boolean);
    expect(layers).toEqual(['drift_cells']);
    expect(p.spec.datasets).toBeUndefined();
    // The text summary of notebook outputs.
    expect(reply.text.split('\n')).toEqual([
      `Monitoring of iris v1 over the last 30s (to ${p.to})`,
      expect.stringMatching(/^  traffic: 11 requests, 401 rows, [\d.]+ rows\/s, 1 errors \(9\.1%\); latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms$/),
      expect.stringMatching(/^  drift: [1-4] of 4 features drifted \(.*petal_length.*\)$/),
      expect.stringMatching(/^  performance \(200 labelled rows\): accuracy 1\.0000/)
    ]);

    // The SVG parses, and has the chart's marks: lines for latency, rects for drift (a rect per run of
    // equal cells, those of one colour in one path), and no points on the lines.
    const doc = new new JSDOM('').window.DOMParser().parseFromString(reply.svg, 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror').length).toBe(0);
    expect(doc.documentElement.tagName).toBe('svg');
    const marks = [...doc.querySelectorAll('g[class*="role-mark"]')];
    expect(marks.some((m) => m.getAttribute('class')!.includes('mark-line') && m.querySelector('path'))).toBe(true);
    const rects = (m: Element) => [...m.querySelectorAll('path')].reduce((n, p) => n + (p.getAttribute('d')!.match(/Z/g) ?? []).length, 0);
    expect(marks.some((m) => m.getAttribute('class')!.includes('mark-rect') && rects(m) >= 2)).toBe(true);
    expect(marks.some((m) => m.getAttribute('class')!.includes('mark-symbol'))).toBe(false);
    expect(reply.svg).toContain('>petal_le'); // the feature's row label (shortened to the label width)
  });

  it('should send only the buckets from `since` on, for a live view that has the settled ones', async () => {
    const whole = (await ws.call({ type: 'monitor', model: 'iris', last_seconds: 30 })).payload;
    const since = whole.series.settled_until as number;
    expect(since).toBeGreaterThan(Date.parse(whole.from) - 1000);
    const live = (await ws.call({ type: 'monitor', model: 'iris', last_seconds: 30, since })).payload;
    expect(live.series.since).toBe(since);
    expect(live.series.ops.length).toBeGreaterThanOrEqual(1);
    expect(live.series.ops.every((o: { t: number }) => o.t >= since)).toBe(true);
    expect(live.series.ops.length).toBeLessThan(whole.series.ops.length);
    expect(live.series.features).toEqual(whole.series.features);
    expect((await ws.request({ type: 'monitor', model: 'iris', since: -1 })).code).toBe('NBD_ERR_BAD_FRAME');
  });

  it('should leave out the SVG unless asked, and refuse unknown models and bad spans', async () => {
    const reply = await ws.call({ type: 'monitor', model: 'iris' });
    expect(reply.svg).toBeUndefined();
    expect(reply.payload.last_seconds).toBe(900);
    expect(reply.payload.bucket_seconds).toBe(15);
    expect((await ws.request({ type: 'monitor', model: 'nope' })).code).toBe('NBD_ERR_MODEL_NOT_FOUND');
    expect((await ws.request({ type: 'monitor', model: 'iris', version: 9 })).code).toBe('NBD_ERR_VERSION_NOT_FOUND');
    expect((await ws.request({ type: 'monitor', model: 'iris', last_seconds: -5 })).code).toBe('NBD_ERR_BAD_FRAME');
  });
});
