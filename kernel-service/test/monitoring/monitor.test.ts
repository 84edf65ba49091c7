import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/protocol/datatypes.js';
import type { Registry } from '../../src/registry/registry.js';
import {
  CategoryCounter,
  MAX_CATEGORIES,
  OTHER_CATEGORY,
  Reservoir,
  addClassification,
  emptyPerformance,
  performanceMetrics
} from '../../src/monitoring/accumulators.js';
import type { ObservedInference } from '../../src/monitoring/ingest.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import { gaussian } from '../../../test/support/iris-traffic.js';

describe('Reservoir', () => {
  it('should keep at most 1,000 values, a uniform sample, the same for the same seed', () => {
    const a = new Reservoir(1000, 7);
    const b = new Reservoir(1000, 7);
    for (let i = 0; i < 100_000; i++) {
      a.add(i);
      b.add(i);
    }
    expect(a.values.length).toBe(1000);
    expect(a.seen).toBe(100_000);
    expect(a.values).toEqual(b.values);
    const mean = a.values.reduce((s, x) => s + x, 0) / a.values.length;
    expect(Math.abs(mean - 50_000)).toBeLessThan(3000); // σ of the mean ≈ 913
    a.add(Number.NaN);
    expect(a.missing).toBe(1);
  });

  it('should merge in proportion to what each side saw', () => {
    const small = new Reservoir(1000, 1);
    const large = new Reservoir(1000, 2);
    for (let i = 0; i < 1000; i++) small.add(-1);
    for (let i = 0; i < 9000; i++) large.add(1);
    small.merge(large.toJSON());
    expect(small.seen).toBe(10_000);
    expect(small.values.length).toBe(1000);
    expect(small.values.filter((v) => v === -1).length).toBe(100);
  });
});

describe('CategoryCounter', () => {
  it('should keep at most 1,000 categories and count the rest as other', () => {
    const c = new CategoryCounter();
    for (let i = 0; i < 1500; i++) c.add(`c${i}`);
    c.add('c1');
    c.add(null);
    expect(c.counts.size).toBe(MAX_CATEGORIES + 1);
    expect(c.counts.get(OTHER_CATEGORY)).toBe(500);
    expect(c.counts.get('c1')).toBe(2);
    expect(c.missing).toBe(1);
    expect(c.total).toBe(1501);
  });
});

describe('performanceMetrics', () => {
  it('should give binary metrics of the positive class and the AUC from score bins', () => {
    const p = emptyPerformance();
    // truth, predicted, score of class "1"
    const rows: Array<[string, string, number]> = [
      ['1', '1', 0.9],
      ['1', '1', 0.8],
      ['1', '0', 0.4],
      ['0', '1', 0.6],
      ['0', '0', 0.2],
      ['0', '0', 0.1]
    ];
    for (const [t, y, s] of rows) addClassification(p, y, t, s);
    const m = performanceMetrics(p, '1');
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    // pairs (pos, neg): 9 in all; the positive 0.4 loses to 0.6 only: 8/9.
    expect(m.roc_auc).toBeCloseTo(8 / 9, 12);
  });
});

describe('MonitorWindow', () => {
  it('should round-trip through JSON and merge', () => {
    const w = new MonitorWindow('m', 1, 0, 60);
    w.served.add(3, 5, null);
    w.served.add(1, 7, 'NBD_ERR_INPUT_SHAPE');
    const f = w.feature('x', 'numeric')!;
    if (f.kind === 'numeric') for (let i = 0; i < 10; i++) f.reservoir.add(i);
    const state = JSON.parse(JSON.stringify(w.toJSON())) as WindowState;
    const again = MonitorWindow.fromJSON(state);
    again.merge(state);
    expect(again.served.requests).toBe(4);
    expect(again.served.errorsByCode).toEqual({ NBD_ERR_INPUT_SHAPE: 2 });
    expect(again.served.latency.count).toBe(4);
    const g = again.features.get('x')!;
    expect(g.kind === 'numeric' && g.reservoir.seen).toBe(20);
  });
});

// --- monitoring in one thread, with a fake registry and a real SQLite store ---------------

const FEATURES = ['a', 'b'];

function profile(seed: number): Record<string, unknown> {
  const g = gaussian(seed);
  const features: Record<string, unknown> = {};
  for (const f of FEATURES) features[f] = { kind: 'numeric', null_rate: 0, sample: Array.from({ length: 500 }, () => g()) };
  features.city = { kind: 'categorical', null_rate: 0, sample: Array.from({ length: 300 }, (_, i) => ['x', 'y', 'z'][i % 3]) };
  return { features, prediction: { kind: 'categorical', sample: Array.from({ length: 300 }, (_, i) => String(i % 2)) } };
}

function fakeRegistry(task: 'classification' | 'regression'): Registry {
  const outputs =
    task === 'classification'
      ? [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }
        ]
      : [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }];
  const version = {
    model: 'm',
    version: 1,
    signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }], outputs, batchable: true },
    metadata: task === 'classification' ? { nbdeploy: { signature: { task, classes: [0, 1], label_output: 'label', scores_output: 'probabilities' } } } : {}
  };
  const prof = profile(3);
  if (task === 'regression') prof.prediction = undefined;
  return {
    getVersion: async (_m: string, v: number) => (v === 1 ? version : undefined),
    getProfile: async (_m: string, v: number) => (v === 1 ? prof : undefined),
    getModel: async () => ({ name: 'm', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
  } as unknown as Registry;
}

function matrix(rows: number[][]): Tensor {
  return { name: 'input', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) };
}

function event(requestId: string, rows: number[][], at: number, labels: number[] = rows.map(() => 1), scores?: number[]): ObservedInference {
  return {
    model: 'm',
    version: 1,
    requestId,
    shadow: false,
    inputs: [matrix(rows)],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [rows.length], data: BigInt64Array.from(labels.map(BigInt)) },
      { name: 'probabilities', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from((scores ?? labels.map((l) => (l ? 0.9 : 0.1))).flatMap((s) => [1 - s, s])) }
    ],
    error: null,
    latencyMs: 2,
    at
  };
}

describe('MonitorState', () => {
  let dir: string;
  let store: SqliteMonitoringStore;
  let clock: number;
  const merge = (a: WindowState, b: WindowState): WindowState => {
    const w = MonitorWindow.fromJSON(a);
    w.merge(b);
    return w.toJSON();
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-monitor-'));
    store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), merge);
    clock = 1_700_000_000_000;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const monitor = (task: 'classification' | 'regression' = 'classification'): MonitorState =>
    new MonitorState(fakeRegistry(task), store, { windowSeconds: 60, now: () => clock });

  it('should count operations at once, and merge closed windows from the store with the open one', async () => {
    const m = monitor();
    const g = gaussian(11);
    m.observe(event('r1', [[g(), g()], [g(), g()]], clock));
    m.observe({ ...event('r2', [[0, 0]], clock), outputs: null, error: { code: 'NBD_ERR_INFERENCE_FAILED' } });
    let s = await m.status('m', 900);
    expect(s.ops).toMatchObject({ requests: 2, errors: 1, rows: 3, error_rate: 0.5, errors_by_code: { NBD_ERR_INFERENCE_FAILED: 1 } });
    expect(s.ops.latency_ms.p50).toBeCloseTo(2, 1);
    clock += 61_000; // the next window: the first is closed and stored
    m.observe(event('r3', [[g(), g()]], clock));
    expect(m.openWindows).toBe(1);
    s = await m.status('m', 900);
    expect(s.ops.requests).toBe(3);
    expect(s.ops.rows).toBe(4);
    expect((await store.loadWindows('m', 0, clock + 1)).length).toBe(1);
    expect(s.versions).toEqual([expect.objectContaining({ version: 1, role: 'production' })]);
    // A span that leaves the first window out (spans take whole windows).
    expect((await m.status('m', 5)).ops.requests).toBe(1);
    await m.close();
    expect((await store.loadWindows('m', 0, clock + 1)).length).toBe(2);
  });

  it('should find no drift on data like the profile, and drift on shifted data', async () => {
    const m = monitor();
    const g = gaussian(5);
    for (let r = 0; r < 20; r++) m.observe(event(`ok${r}`, Array.from({ length: 25 }, () => [g(), g()]), clock));
    let s = await m.status('m', 900);
    expect(Object.keys(s.drift).sort()).toEqual(['a', 'b']);
    expect(s.drift.a).toMatchObject({ method: 'ks', drifted: false });
    expect(s.drift_share).toBe(0);
    expect(s.prediction_drift).toMatchObject({ method: 'chisquare', drifted: true }); // all predictions are 1
    clock += 60_000;
    for (let r = 0; r < 40; r++) m.observe(event(`shift${r}`, Array.from({ length: 25 }, () => [g() + 2, g()]), clock));
    s = await m.status('m', 5); // only the shifted window
    expect(s.drift.a).toMatchObject({ method: 'ks', drifted: true });
    expect(s.drift.a!.p_value).toBeLessThan(1e-10);
    expect(s.drift.b!.drifted).toBe(false);
    expect(s.drift_share).toBe(0.5);
    await m.close();
  });

  it('should keep memory bounded: one open window, reservoirs of at most 1,000 values', async () => {
    const m = monitor();
    for (let r = 0; r < 200; r++) m.observe(event(`big${r}`, Array.from({ length: 500 }, (_, i) => [i, -i]), clock + r));
    const s = await m.status('m', 900);
    expect(s.ops.rows).toBe(100_000);
    const open = m.ingest.openWindowsOf('m');
    expect(open).toHaveLength(1);
    const acc = open[0]!.features.get('a')!;
    expect(acc.kind === 'numeric' && acc.reservoir.values.length).toBe(1000);
    await m.close();
  });

  it('should join late feedback, in any order, to the window of the prediction', async () => {
    const m = monitor();
    // Window 1: four rows in one request; window 2: a single-row request.
    m.observe(event('req', [[0, 0], [0, 0], [0, 0], [0, 0]], clock, [1, 1, 0, 0], [0.9, 0.7, 0.4, 0.2]));
    const first = clock;
    clock += 60_000;
    m.observe(event('single', [[0, 0]], clock, [1], [0.8]));
    clock += 120_000; // both windows closed, feedback much later
    expect(await m.feedback('m', [
      { requestId: 'req#3', groundTruth: 1 },
      { requestId: 'single#0', groundTruth: 0 },
      { requestId: 'req#0', groundTruth: 1 },
      { requestId: 'unknown', groundTruth: 1 }
    ])).toBe(3);
    expect(await m.feedback('m', [{ requestId: 'req#0', groundTruth: 1 }, { requestId: 'req#1', groundTruth: 0 }])).toBe(1); // req#0 counts once
    const s = await m.status('m', 3600);
    expect(s.performance.labelled).toBe(4);
    expect(s.performance.labelled_share).toBeCloseTo(4 / 5, 12);
    // truth/predicted: req#0 1/1, req#1 0/1, req#3 1/0, single 0/1
    expect(s.performance.accuracy).toBeCloseTo(1 / 4, 12);
    expect(s.performance.precision).toBeCloseTo(1 / 3, 12);
    expect(s.performance.recall).toBeCloseTo(1 / 2, 12);
    expect(s.performance.roc_auc).toBeCloseTo(2 / 4, 12); // positives 0.9, 0.2 vs negatives 0.7, 0.8
    expect(s.concept_drift).toMatchObject({ detector: 'ADWIN', detected: false });
    // The first window's performance belongs to the first window.
    expect((await store.loadPerformance('m', 1, 0, first + 1))[0]!.labelled).toBe(3);
    await m.close();
  });

  it('should compute MAE and RMSE for a regressor', async () => {
    const m = new MonitorState(fakeRegistry('regression'), store, { windowSeconds: 60, now: () => clock });
    m.observe({
      ...event('r', [[0, 0], [0, 0]], clock),
      outputs: [{ name: 'value', datatype: 'FP32', shape: [2, 1], data: Float32Array.from([1, 5]) }]
    });
    await m.feedback('m', [
      { requestId: 'r#0', groundTruth: 2 },
      { requestId: 'r#1', groundTruth: [2] }
    ]);
    const s = await m.status('m', 900);
    expect(s.performance.mae).toBeCloseTo(2, 12);
    expect(s.performance.rmse).toBeCloseTo(Math.sqrt(5), 12);
    expect(s.concept_drift!.detector).toBe('PageHinkley');
    await m.close();
  });

  it('should drop what is past retention', async () => {
    const m = monitor();
    m.observe(event('old', [[0, 0]], clock));
    await m.close();
    await store.prune(clock + 61_000, 1_000_000);
    expect(await store.loadWindows('m', 0, clock + 120_000)).toEqual([]);
    expect(await store.claimPredictions('m', ['old'])).toEqual([]);
  });
});
