/**
 * Monitoring in a real `nbdeploy serve`: traffic shows in `status` at once, shifted inputs
 * show as drift against the training profile, late feedback in any order shows as
 * performance, and windows survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_METADATA, fixture, fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { IRIS_FEATURES, gaussian, irisProfile, irisRows } from '../support/iris-traffic.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
let service: ServiceProcess;
let ws: NotebookClient;

beforeAll(async () => {
  service = await startService({ args: ['--monitor-window-seconds', '60'] });
  ws = await NotebookClient.connect(service);
  const registered = await ws.register('iris', IRIS, { profile: irisProfile(), metadata: IRIS_METADATA });
  await ws.promote('iris', registered.version);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

const infer = (requestId: string, rows: number[][]) => ws.call({ type: 'infer', model: 'iris', request_id: requestId, inputs: [fp32('input', rows)] });
const status = (extra: Record<string, unknown> = {}) => ws.call({ type: 'status', model: 'iris', ...extra });

describe('status', () => {
  const g = gaussian(7);
  const labels = new Map<string, number>();

  it('should show traffic served a moment ago', async () => {
    for (let r = 0; r < 10; r++) {
      const reply = await infer(`normal-${r}`, irisRows(20, g));
      const predicted = reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[];
      predicted.forEach((label, i) => labels.set(`normal-${r}#${i}`, label));
    }
    const failed = await ws.request({ type: 'infer', model: 'iris', inputs: [fp32('input', [[1, 2, 3]])] });
    expect(failed.type).toBe('error');
    const s = await status();
    expect(s).toMatchObject({ type: 'status', model: 'iris', version: 1, window_seconds: 60 });
    expect(s.ops).toMatchObject({ requests: 11, errors: 1, rows: 201, errors_by_code: { NBD_ERR_INPUT_SHAPE: 1 } });
    expect(s.ops.error_rate).toBeCloseTo(1 / 11, 12);
    expect(s.ops.latency_ms.p50).toBeGreaterThan(0);
    expect(s.ops.latency_ms.p99).toBeGreaterThanOrEqual(s.ops.latency_ms.p50);
    expect(s.ops.throughput_per_s).toBeGreaterThan(0);
    expect(Date.parse(s.to) - Date.parse(s.from)).toBe(900_000);
    expect(s.versions).toEqual([expect.objectContaining({ version: 1, role: 'production', shadow_requests: 0 })]);
    expect(Object.keys(s.drift).sort()).toEqual([...IRIS_FEATURES].sort());
    for (const name of IRIS_FEATURES) expect(s.drift[name]).toMatchObject({ method: 'ks', drifted: false });
    expect(s.drift_share).toBe(0);
    expect(s.performance).toMatchObject({ labelled: 0, labelled_share: 0, accuracy: null });
    expect(s.concept_drift).toBeNull();
  });

  it('should show drift once shifted data is served', async () => {
    for (let r = 0; r < 15; r++) await infer(`shifted-${r}`, irisRows(20, g, [0, 0, 3, 0]));
    const s = await status();
    expect(s.drift.petal_length).toMatchObject({ method: 'ks', drifted: true });
    expect(s.drift.petal_length.p_value).toBeLessThan(1e-6);
    expect(s.drift.sepal_length.drifted).toBe(false);
    expect(s.drift_share).toBe(0.25);
  });

  it('should join late feedback, sent in any order, to the predictions', async () => {
    // Ground truth for half the normal rows, in reverse order: the truth is the predicted
    // label for every third row, another class otherwise.
    const ids = [...labels.keys()].filter((_, i) => i % 2 === 0).reverse();
    const truth = ids.map((id, i) => (i % 3 === 0 ? labels.get(id)! : (labels.get(id)! + 1) % 3));
    const half = Math.floor(ids.length / 2);
    await ws.call({ type: 'feedback', model: 'iris', request_ids: ids.slice(half), ground_truth: truth.slice(half) });
    await ws.call({ type: 'feedback', model: 'iris', request_ids: ids.slice(0, half), ground_truth: truth.slice(0, half) });
    const s = await status();
    const correct = truth.filter((t, i) => t === labels.get(ids[i]!)).length;
    expect(s.performance.labelled).toBe(ids.length);
    expect(s.performance.accuracy).toBeCloseTo(correct / ids.length, 12);
    expect(s.performance.labelled_share).toBeCloseTo(ids.length / s.ops.rows, 12);
    expect(s.performance.f1).toBeGreaterThan(0);
    expect(s.performance.roc_auc).toBeNull(); // three classes: no positive class
    expect(s.concept_drift).toMatchObject({ detector: 'ADWIN' });
  });

  it('should refuse an unknown model and a bad span', async () => {
    expect(await ws.request({ type: 'status', model: 'nope' })).toMatchObject({ type: 'error', code: 'NBD_ERR_MODEL_NOT_FOUND' });
    expect(await ws.request({ type: 'status', model: 'iris', last_seconds: -1 })).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
  });

  it('should keep the windows across a restart', async () => {
    const before = await status();
    await ws.close();
    await service.stop();
    service = await startService({ stateDir: service.stateDir });
    ws = await NotebookClient.connect(service);
    const after = await status();
    expect(after.ops.requests).toBe(before.ops.requests);
    expect(after.ops.rows).toBe(before.ops.rows);
    expect(after.performance.labelled).toBe(before.performance.labelled);
    expect(after.drift.petal_length.drifted).toBe(true);
  });
});
