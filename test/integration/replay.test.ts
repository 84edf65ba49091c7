/**
 * Replay in a real `nbdeploy serve`: the requests a deployment captured, answered by a
 * candidate version inside the service and compared with what was served. The expected
 * agreement, changed rows and metrics are computed here from the same rows: the models
 * multiply their input by a whole number, so every answer is exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../support/http.js';
import { columnModel } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { threadsAtNice } from '../support/thread-priority.js';

/** x FP32 [N, 1] → y = x × factor, FP32 [N, 1] (a regressor); `tag` makes distinct bytes of the same model. */
function scaler(factor: number, tag: string): Buffer {
  return columnModel({
    name: `scale-${tag}`,
    inputs: { x: 'FP32' },
    outputs: { y: 'FP32' },
    nodes: [{ opType: 'Mul', input: ['x', 'factor'], output: ['y'], name: 'times' }],
    constants: { factor },
    tag
  });
}

let service: ServiceProcess;
let ws: NotebookClient;
let rest: RestClient;
/** x = 0 … 19, one request each, served by version 1 (y = 2x) and captured. */
const xs = Array.from({ length: 20 }, (_, i) => i);
const ids: string[] = [];
let same: number;
let triple: number;

beforeAll(async () => {
  service = await startService();
  ws = await NotebookClient.connect(service);
  rest = new RestClient(service);
  const v1 = (await ws.register('scale', scaler(2, 'v1'))).version as number;
  await ws.promote('scale', v1, { override: 'integration test' });
  same = (await ws.register('scale', scaler(2, 'v2'))).version as number;
  triple = (await ws.register('scale', scaler(3, 'v3'))).version as number;
  await ws.call({ type: 'set_capture', model: 'scale', rate: 1 });
  for (const x of xs) {
    const res = await rest.infer('scale', [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [x] }]);
    expect(res.status, res.text).toBe(200);
    ids.push(res.json<{ id: string }>().id);
  }
  // Ground truth y = 2x for the first ten requests.
  await ws.call({ type: 'feedback', model: 'scale', request_ids: ids.slice(0, 10), ground_truth: xs.slice(0, 10).map((x) => 2 * x) });
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

const replay = async (extra: Record<string, unknown>) => (await ws.call({ type: 'replay', model: 'scale', ...extra })) as Record<string, any>;

describe('replay of captured traffic', () => {
  it('should find a candidate that answers alike in full agreement', async () => {
    const r = await replay({ version: same });
    expect(r).toMatchObject({ version: same, source: 'captured', requests: 20, rows: 20, agreement: 1, changed: 0, served_versions: [1] });
    expect(r.skipped).toEqual({ personal_data: 0, failed: 0, no_answer: 0, first_error: null });
    expect(r.latency_ms.served.p50).toBeGreaterThan(0);
    expect(r.latency_ms.candidate.p50).toBeGreaterThan(0);
    // The candidate ran on a background instance of its own: one worker thread at low priority (nice 10).
    expect(threadsAtNice(service.pid, 10)).toBe(1);
  });

  it('should count the rows a candidate answers differently, by feature range, with metrics where ground truth arrived', async () => {
    const r = await replay({ version: triple });
    // 3x ≠ 2x for every x but 0.
    const changed = xs.filter((x) => 3 * x !== 2 * x).length;
    expect(r.changed).toBe(changed);
    expect(r.agreement).toBe((xs.length - changed) / xs.length);
    const bins = r.by_feature.find((f: { feature: string }) => f.feature === 'x').bins as Array<{ rows: number; changed: number }>;
    expect(bins.reduce((s, b) => s + b.rows, 0)).toBe(20);
    expect(bins.reduce((s, b) => s + b.changed, 0)).toBe(changed);

    const labelled = xs.slice(0, 10);
    const errors = labelled.map((x) => 3 * x - 2 * x);
    expect(r.metrics.rows).toBe(10);
    expect(r.metrics.served).toEqual({ mae: 0, rmse: 0 });
    expect(r.metrics.candidate.mae).toBeCloseTo(errors.reduce((s, e) => s + Math.abs(e), 0) / 10, 12);
    expect(r.metrics.candidate.rmse).toBeCloseTo(Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / 10), 12);
    expect(r.metrics.delta.mae).toBeCloseTo(r.metrics.candidate.mae, 12);

    expect(r.table.columns).toEqual(['at', 'request_id', 'served_version', 'x', 'served', 'candidate', 'changed', 'truth']);
    expect(r.table.rows.map((row: unknown[]) => row[1])).toEqual(ids);
    expect(r.table.rows[5].slice(3)).toEqual([5, 10, 15, true, 10]);
    expect(r.table.rows[15].slice(3)).toEqual([15, 30, 45, true, null]);
  });

  it('should tell its progress, and stay within the rows asked for', async () => {
    const reply = ws.call({ id: 'with-progress', type: 'replay', model: 'scale', version: triple, limit: 8, table_rows: 3 });
    const progress = await ws.nextUnsolicited((m) => m.type === 'replay_progress' && m.replay === 'with-progress' && m.done === m.total);
    const r = (await reply) as Record<string, any>;
    expect(progress.total).toBe(8);
    expect(r).toMatchObject({ requests: 8, rows: 8, truncated: true });
    expect(r.table.rows.length).toBe(3);
  });

  it('should compare the answers a shadow version gave, without running anything', async () => {
    const candidate = (await ws.register('scale', scaler(3, 'shadow'))).version as number;
    await ws.call({ type: 'deploy', model: 'scale', version: candidate, shadow: true });
    const from = new Date().toISOString();
    for (const x of [0, 1, 2, 3]) await rest.infer('scale', [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [x] }]);
    let r: Record<string, any> = {};
    for (let i = 0; i < 50; i++) {
      // Shadows answer after the served reply went out.
      r = await replay({ version: candidate, source: 'shadow', from });
      if (r.skipped.no_answer === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(r).toMatchObject({ source: 'shadow', requests: 4, rows: 4, changed: 3, agreement: 0.25 });
  });

  it('should refuse bad requests naming what was wrong', async () => {
    expect((await ws.request({ type: 'replay', model: 'scale', version: 99 })).code).toBe('NBD_ERR_VERSION_NOT_FOUND');
    expect((await ws.request({ type: 'replay', model: 'nobody', version: 1 })).code).toBe('NBD_ERR_MODEL_NOT_FOUND');
    expect(String((await ws.request({ type: 'replay', model: 'scale', version: 1, source: 'live' })).error)).toContain('source');
  });
});

describe('replay gates on a deploy', () => {
  it('should hold a version its latest replay does not clear, and let one through that does', async () => {
    const gated = (await ws.register('scale', scaler(2, 'gated'))).version as number;
    // Never replayed: held, naming why.
    const unreplayed = await ws.request({ type: 'set_canary', model: 'scale', version: gated, percent: 10, gates: { replay_agreement: '>= 0.98' } });
    expect(unreplayed.code).toBe('NBD_ERR_REPLAY_GATE');
    expect(String(unreplayed.error)).toContain('has not been replayed');

    const done = await replay({ version: gated });
    expect(done.replay_id).toEqual(expect.any(Number));
    const canary = (await ws.call({ type: 'set_canary', model: 'scale', version: gated, percent: 10, gates: { replay_agreement: '>= 0.98', mae_delta: '<= 0' } })) as Record<string, any>;
    expect(canary.model.deployment.canary).toEqual({ version: gated, percent: 10 });
    const audit = (await ws.call({ type: 'audit', model: 'scale', limit: 1 })) as Record<string, any>;
    expect(audit.entries[0].details.replay_gates.map((g: { metric: string; status: string }) => [g.metric, g.status])).toEqual([
      ['replay_agreement', 'pass'],
      ['mae_delta', 'pass']
    ]);

    // Version 3 answers 3x: its replay's agreement misses the gate.
    await replay({ version: triple });
    const held = await ws.request({ type: 'promote', model: 'scale', version: triple, override: 'no validation here', gates: { replay_agreement: '>= 0.98' } });
    expect(held.code).toBe('NBD_ERR_REPLAY_GATE');
    expect(String(held.error)).toMatch(/misses replay_agreement >= 0.98 \(replay_agreement = 0\.\d+ misses >= 0\.98\)/);
    const unknown = await ws.request({ type: 'promote', model: 'scale', version: triple, gates: { f1: '>= 0.9' } });
    expect(String(unknown.error)).toContain('replay_agreement or <metric>_delta');
  });
});
