/**
 * Monitoring off the request path, in a real `nbdeploy serve`: a day's `status` is answered
 * by the monitoring worker while inference keeps answering; ground truth sent right after the
 * predictions it labels joins them (the ring is handed over before the join); SIGTERM writes
 * the open windows and the predictions log before exiting. (Timings are the bench's: here only
 * what is answered, and that it is right.)
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { featureNames, historyProfile, writeHistory } from '../../bench/monitoring-history.js';
import { ROOT } from '../support/service.js';
import { fixture, fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { gaussian, irisProfile, irisRows } from '../support/iris-traffic.js';
import { cleanup, makeTempDir, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');

afterEach(cleanup);

describe('the monitoring worker', () => {
  it('should answer a 24 h status of a day of windows while inference keeps answering', async () => {
    const stateDir = path.join(makeTempDir(), 'state');
    let service = await startService({ stateDir });
    let ws = await NotebookClient.connect(service);
    await ws.register('iris', IRIS, { profile: irisProfile() });
    await ws.register('day', IRIS, { profile: historyProfile(8) });
    await ws.close();
    await service.stop();
    // A day of one-minute windows of an 8-feature model, its first five features shifted in the second half.
    const day = await writeHistory({ file: path.join(stateDir, 'registry.sqlite'), model: 'day', features: 8, rowsPerMinute: 100, requestsPerMinute: 10, hours: 24 });
    service = await startService({ stateDir });
    ws = await NotebookClient.connect(service);

    const g = gaussian(3);
    let statusInFlight = 0;
    let answered = 0;
    let answeredDuringStatus = 0;
    let inferring = true;
    const inference = (async () => {
      for (let r = 0; inferring; r++) {
        const reply = await ws.call({ type: 'infer', model: 'iris', request_id: `live-${r}`, inputs: [fp32('input', irisRows(1, g))] });
        expect(reply.type).toBe('infer_result');
        answered++;
        if (statusInFlight > 0) answeredDuringStatus++;
      }
    })();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statusInFlight++;
      statuses.push(await ws.call({ type: 'status', model: 'day', last_seconds: 86_400 }));
      statusInFlight--;
    }
    inferring = false;
    await inference;

    for (const s of statuses) {
      const from = Date.parse(s.from as string);
      const to = Date.parse(s.to as string);
      let windows = 0;
      for (let start = day.first; start <= day.last; start += 60_000) if (start < to && start + 60_000 > from) windows++;
      expect(s.ops.requests).toBe(windows * 10);
      expect(s.ops.rows).toBe(windows * 100);
      expect(s.versions).toEqual([expect.objectContaining({ version: 1, role: 'none' })]);
      expect(Object.keys(s.drift).sort()).toEqual(featureNames(8));
      // Half the day shifted by the width of the training range: drifted whichever values the samples hold.
      for (const name of featureNames(5)) expect(s.drift[name].drifted).toBe(true);
    }
    // The event loop answered inference while the worker merged the day: more than the one
    // request per status that was already in flight when a status blocking the loop arrived.
    expect(answered).toBeGreaterThan(0);
    expect(answeredDuringStatus).toBeGreaterThan(statuses.length);
    await ws.close();
  });

  it('should join ground truth sent right after the predictions it labels', async () => {
    const service = await startService();
    const ws = await NotebookClient.connect(service);
    await ws.register('iris', IRIS, { profile: irisProfile() });
    const g = gaussian(5);
    const ids: string[] = [];
    const labels: number[] = [];
    for (let r = 0; r < 3; r++) {
      const reply = await ws.call({ type: 'infer', model: 'iris', request_id: `q${r}`, inputs: [fp32('input', irisRows(10, g))] });
      const predicted = reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[];
      predicted.forEach((label, i) => {
        ids.push(`q${r}#${i}`);
        labels.push(label);
      });
    }
    // No status in between: the predictions may still be in the ring when the feedback arrives.
    const recorded = await ws.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: labels });
    expect(recorded).toMatchObject({ type: 'feedback_recorded', count: 30 });
    const s = await ws.call({ type: 'status', model: 'iris' });
    expect(s.performance).toMatchObject({ labelled: 30, accuracy: 1 });
    await ws.close();
  });

  it('should write the open windows and the predictions log on SIGTERM', async () => {
    let service = await startService();
    let ws = await NotebookClient.connect(service);
    await ws.register('iris', IRIS, { profile: irisProfile() });
    const g = gaussian(9);
    const ids: string[] = [];
    for (let r = 0; r < 25; r++) {
      await ws.call({ type: 'infer', model: 'iris', request_id: `t${r}`, inputs: [fp32('input', irisRows(4, g))] });
      for (let i = 0; i < 4; i++) ids.push(`t${r}#${i}`);
    }
    // At once: the window is open, the last predictions likely still in the ring.
    const exit = await service.stop();
    expect(exit.code).toBe(0);
    service = await startService({ stateDir: service.stateDir });
    ws = await NotebookClient.connect(service);
    const s = await ws.call({ type: 'status', model: 'iris' });
    expect(s.ops).toMatchObject({ requests: 25, rows: 100 });
    expect(Object.keys(s.drift)).toHaveLength(4);
    await ws.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: ids.map(() => 1) });
    const after = await ws.call({ type: 'status', model: 'iris' });
    expect(after.performance.labelled).toBe(100);
    await ws.close();
  });

  it('should restart a worker that dies, say so in the log, and answer again', async () => {
    // The built monitor (its worker is a built file), on a database the service's stores made.
    const lib = (p: string) => import(path.join(ROOT, 'lib', 'kernel-service', p));
    const { Monitor } = await lib('monitoring/monitor.js');
    const { SqliteMonitoringStore } = await lib('monitoring/store.js');
    const { SqliteRegistry } = await lib('registry/sqlite-registry.js');
    const { mergeWindowStates } = await lib('monitoring/window.js');
    const file = path.join(makeTempDir(), 'registry.sqlite');
    await new SqliteRegistry(file).close();
    await new SqliteMonitoringStore(file, mergeWindowStates).close();
    const logged: string[] = [];
    const monitor = new Monitor({ kind: 'sqlite', file }, { windowSeconds: 1, log: (m: string) => logged.push(m) });
    const observe = (requestId: string) =>
      monitor.observe({
        model: 'm',
        version: 1,
        requestId,
        shadow: false,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([1]) }],
        outputs: null,
        error: null,
        latencyMs: 1,
        at: Date.now()
      });
    try {
      observe('a');
      expect((await monitor.status('m', 60)).ops.requests).toBe(1);
      const dead = (monitor as unknown as { _worker: { terminate(): Promise<number> } })._worker;
      await dead.terminate();
      while (!logged.some((m) => m.includes('the monitoring worker stopped'))) await new Promise((r) => setTimeout(r, 50));
      expect(logged.find((m) => m.includes('the monitoring worker stopped'))).toMatch(/restarting it/);
      observe('b');
      // The new worker answers (what the dead one held in its open window is gone; the log said so).
      expect((await monitor.status('m', 60)).ops.requests).toBeGreaterThanOrEqual(1);
    } finally {
      await monitor.close();
    }
  });
});
