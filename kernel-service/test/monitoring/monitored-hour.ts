/**
 * An hour of monitored traffic for the monitor chart's tests and size measurements: the
 * TypeScript quickstart's breast-cancer classifier (examples/cancer.onnx, 30 numeric
 * features) registered in a real SQLite registry with the profile of its training rows,
 * then 60 one-minute windows of 2,000 rows a minute run through onnxruntime and observed by
 * monitoring in one thread (MonitorState), with the alert engine evaluating the default rules every minute:
 *
 * - minutes 10–12: one request in eight has the wrong shape (errors; the error-rate alert);
 * - minutes 25–44: 18 of the 30 features scaled by 1.25 (drift; the drift and accuracy alerts);
 * - minutes 35–39: one request in four without `mean texture` values (NaN: a null spike);
 * - every minute: an out-of-range `worst area` now and then (integrity);
 * - at minute 50: ground truth for the rows served before minute 46 (performance).
 *
 * Seeded: the same traffic every run (latencies too, drawn rather than measured).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlertEngine } from '../../src/monitoring/alerts.js';
import { SqliteAlertStore } from '../../src/monitoring/alert-store.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { type MonitorOutput, type MonitorSnapshot, monitorOutput, monitorSnapshot } from '../../src/monitoring/monitor-payload.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import { profileRows } from '../../src/notebook/profile.js';
import { readSignature } from '../../src/notebook/signature.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { DEFAULT_INTEGRITY_POLICY } from '../../src/protocol/integrity.js';
import { IntegrityPlan, inspectRequest } from '../../src/serving/admission.js';
import { OnnxModel } from '../../src/runtime/onnx-model.js';
import { gaussian } from '../../../test/support/iris-traffic.js';
import { mulberry32 } from './random.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const MODEL = 'cancer';
const MINUTE = 60_000;
/** The hour starts here (a whole minute); the chart is asked for 30 s into the 61st window. */
export const HOUR_START = Date.UTC(2026, 2, 2, 9, 0, 0);

interface CancerData {
  feature_names: string[];
  train: { rows: number[][]; labels: number[] };
  holdout: { rows: number[][]; labels: number[] };
  live: { rows: number[][]; labels: number[] };
}

export interface MonitoredHour {
  monitor: MonitorState;
  alerts: AlertEngine;
  model: string;
  /** The simulated clock now (ms). */
  now: number;
  /** The `monitor` payload over the last `seconds` and the status of its span, as the service builds them for the reply. */
  snapshot(seconds?: number): Promise<MonitorSnapshot>;
  /** The `monitor` reply's content (payload, status, text, SVG), as the service builds it. */
  output(request: { lastSeconds: number; since?: number; svg?: boolean }): Promise<MonitorOutput>;
  /** Moves the clock on and serves `requests` more requests of 20 rows (like the hour's normal traffic). */
  serve(ms: number, requests?: number): Promise<void>;
  close(): Promise<void>;
}

export async function monitoredHour(): Promise<MonitoredHour> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-hour-'));
  const file = path.join(dir, 'registry.sqlite');
  const data = JSON.parse(readFileSync(path.join(EXAMPLES, 'cancer-data.json'), 'utf8')) as CancerData;
  const bytes = readFileSync(path.join(EXAMPLES, 'cancer.onnx'));
  const onnx = await OnnxModel.load(path.join(EXAMPLES, 'cancer.onnx'), { intraOpThreads: 1 });
  const features = data.feature_names;
  const signature = readSignature(bytes, onnx.signature, { featureNames: features });
  const profile = profileRows(data.train.rows, features) as unknown as Record<string, unknown>;

  const registry = new SqliteRegistry(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const actor = { user: 'test' };
  const { version } = await registry.registerVersion(
    { model: MODEL, sha256, artifact: sha256, signature: onnx.signature, metadata: { nbdeploy: { signature } }, batching: { maxBatchSize: 0, maxQueueDelayMicros: 0 }, profile },
    actor
  );
  // The accuracy rule compares with the validation report's accuracy.
  await registry.addValidation(MODEL, version.version, true, { metrics: { accuracy: 0.96 } }, actor);
  await registry.changeDeployment(MODEL, { kind: 'promote', version: version.version }, actor);

  let clock = HOUR_START;
  const now = (): number => clock;
  const merge = (a: WindowState, b: WindowState): WindowState => {
    const w = MonitorWindow.fromJSON(a);
    w.merge(b);
    return w.toJSON();
  };
  const store = new SqliteMonitoringStore(file, merge);
  const monitor = new MonitorState(registry, store, { windowSeconds: 60, now, log: () => undefined });
  const alertStore = new SqliteAlertStore(file);
  const alerts = new AlertEngine(registry, alertStore, (model, seconds, options) => monitor.status(model, seconds, undefined, options), {
    monitorWindowSeconds: 60,
    now
  });

  const plan = new IntegrityPlan(MODEL, onnx.signature, profile);
  const pool = [...data.holdout.rows, ...data.live.rows];
  const truthOf = [...data.holdout.labels, ...data.live.labels];
  const g = gaussian(2026);
  const uniform = mulberry32(2026);
  const pick = (): number => Math.floor(uniform() * pool.length);
  const served: Array<{ id: string; rows: number[] }> = [];
  const texture = features.indexOf('mean texture');
  const area = features.indexOf('worst area');
  let requestNo = 0;

  /** One request of `n` rows at the clock's time, `minute` of the hour choosing what goes wrong. */
  const request = async (minute: number, n: number): Promise<void> => {
    const id = `r${requestNo++}`;
    const picked = Array.from({ length: n }, pick);
    const rows = picked.map((i) =>
      pool[i]!.map((x, j) => {
        let v = x * (1 + 0.03 * g());
        if (minute >= 25 && minute < 45 && j < 18) v *= 1.25;
        if (minute >= 35 && minute < 40 && j === texture && requestNo % 4 === 0) v = Number.NaN;
        if (j === area && requestNo % 37 === 0) v = 9000;
        return v;
      })
    );
    const latencyMs = Math.exp(0.7 + 0.4 * g());
    if (minute >= 10 && minute < 13 && requestNo % 8 === 0) {
      monitor.observe({ model: MODEL, version: version.version, requestId: id, shadow: false, inputs: [], outputs: null, error: { code: 'NBD_ERR_INPUT_SHAPE' }, latencyMs, at: clock });
      return;
    }
    const input: Tensor = { name: 'input', datatype: 'FP64', shape: [n, features.length], data: Float64Array.from(rows.flat()) };
    const inspection = inspectRequest(plan, DEFAULT_INTEGRITY_POLICY, [input]);
    const outputs = await onnx.run(inspection.inputs, ['label', 'probabilities']);
    monitor.observe({
      model: MODEL,
      version: version.version,
      requestId: id,
      shadow: false,
      inputs: inspection.inputs,
      outputs,
      error: null,
      latencyMs,
      at: clock,
      integrity: inspection.report
    });
    if (minute < 46) served.push({ id, rows: picked });
  };

  /** A minute of 100 requests of 20 rows, spread over it; the alert rules at its end. */
  for (let minute = 0; minute < 60; minute++) {
    clock = HOUR_START + minute * MINUTE;
    for (let r = 0; r < 100; r++) {
      clock = HOUR_START + minute * MINUTE + r * 590;
      await request(minute, 20);
    }
    if (minute === 50) {
      const items = served.flatMap((s) => s.rows.map((i, k) => ({ requestId: `${s.id}#${k}`, groundTruth: truthOf[i] })));
      await monitor.feedback(MODEL, items);
    }
    clock = HOUR_START + (minute + 1) * MINUTE - 1;
    await alerts.evaluate([MODEL]);
  }
  clock = HOUR_START + 60 * MINUTE + 30_000;

  return {
    monitor,
    alerts,
    model: MODEL,
    get now() {
      return clock;
    },
    snapshot: (seconds = 3600) => monitorSnapshot(monitor, MODEL, seconds, undefined, (since) => alerts.alerts({ model: MODEL, since })),
    output: (request) => monitorOutput(monitor, MODEL, request, (since) => alerts.alerts({ model: MODEL, since })),
    async serve(ms: number, requests = 1) {
      const start = clock;
      for (let r = 0; r < requests; r++) {
        clock = start + Math.floor((ms * r) / requests);
        await request(60, 20);
      }
      clock = start + ms;
    },
    async close() {
      await monitor.close();
      await store.close();
      await alertStore.close();
      await registry.close();
      void onnx.release();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
