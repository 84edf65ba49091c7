import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/registry.js';
import { SqliteCaptureStore } from '../../src/monitoring/capture-store.js';
import { InferenceRing, readBatch } from '../../src/monitoring/inference-ring.js';
import type { ObservedInference } from '../../src/monitoring/ingest.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import { openDatabase } from '../../src/storage/sqlite-database.js';

const DAY = 24 * 3600 * 1000;

/** A version of model `m` with one input `x` FP32 [N, 3]; `card.personal_data` as given; no training profile. */
function registry(personal: string[]): Registry {
  const version = {
    model: 'm',
    version: 1,
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }], batchable: true },
    metadata: { nbdeploy: { card: { personal_data: personal } } }
  };
  return {
    getVersion: async (_m: string, v: number) => (v === 1 ? version : undefined),
    getProfile: async () => undefined,
    getModel: async () => ({ name: 'm', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
  } as unknown as Registry;
}

function event(requestId: string, rows: number[][], at: number, captureDays: number): ObservedInference {
  return {
    model: 'm',
    version: 1,
    requestId,
    shadow: false,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: Float32Array.from(rows.flat()) }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [rows.length, 1], data: Float32Array.from(rows.map((r) => r[0]!)) }],
    error: null,
    latencyMs: 1,
    at,
    captureDays
  };
}

describe('capture in the monitoring worker', () => {
  let dir: string;
  let clock: number;
  let db: ReturnType<typeof openDatabase>;
  let store: SqliteMonitoringStore;
  const merge = (a: WindowState, b: WindowState): WindowState => {
    const w = MonitorWindow.fromJSON(a);
    w.merge(b);
    return w.toJSON();
  };
  const query = { model: 'm', from: 0, to: Number.MAX_SAFE_INTEGER, shadow: false, maxRows: 1000 };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-capture-'));
    db = openDatabase(path.join(dir, 'db.sqlite'));
    store = new SqliteMonitoringStore(db, merge);
    clock = 1_700_000_000_000;
  });
  afterEach(async () => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should keep only sampled requests, and drop each when its retention ends', async () => {
    const m = new MonitorState(registry([]), store, { windowSeconds: 60, now: () => clock }, new SqliteCaptureStore(db));
    m.observe(event('kept-1-day', [[1, 2, 3]], clock, 1));
    m.observe(event('not-sampled', [[4, 5, 6]], clock, 0));
    m.observe(event('kept-3-days', [[7, 8, 9]], clock, 3));
    expect((await m.captured(query)).rows.map((r) => r[1])).toEqual(['kept-1-day', 'kept-3-days']);
    expect((await m.captured(query)).columns).toEqual(['at', 'request_id', 'version', 'x[0]', 'x[1]', 'x[2]', 'y']);
    clock += 2 * DAY;
    await m.ingest.tick();
    expect((await m.captured(query)).rows.map((r) => r[1])).toEqual(['kept-3-days']);
    clock += 2 * DAY;
    await m.ingest.tick();
    expect((await m.captured(query)).rows).toEqual([]);
    await m.close();
  });

  it('should hash a flagged feature it cannot locate in the input (no training profile) with the rest of the input', async () => {
    const m = new MonitorState(registry(['email']), store, { windowSeconds: 60, now: () => clock }, new SqliteCaptureStore(db));
    m.observe(event('r', [[1, 2, 3]], clock, 1));
    const table = await m.captured(query);
    expect(table.hashed).toEqual(['x[0]', 'x[1]', 'x[2]']);
    const row = table.rows[0]!;
    for (const value of row.slice(3, 6)) expect(value).toMatch(/^[0-9a-f]{32}$/);
    expect(row[6]).toBe(1); // answers are not hashed
    const stored = db.prepare('SELECT inputs FROM captured_requests').get() as { inputs: string };
    expect(JSON.parse(stored.inputs)[0].data.every((v: unknown) => typeof v === 'string')).toBe(true);
    await m.close();
  });

  it('should hand a captured request over whole, however wide, and its retention with it', () => {
    const ring = new InferenceRing();
    const wide = (captureDays: number): ObservedInference => ({
      ...event('w', [[0, 0, 0]], clock, captureDays),
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5000], data: new Float32Array(5000).fill(0.5) }]
    });
    ring.append(wide(0));
    ring.append(wide(7));
    const [plain, captured] = readBatch(ring.take()!, []);
    expect(plain!.inputs[0]!.data.length).toBe(0); // monitoring leaves a tensor this wide out
    expect(plain!.captureDays).toBe(0);
    expect(captured!.inputs[0]!.data.length).toBe(5000);
    expect(captured!.captureDays).toBe(7);
  });
});
