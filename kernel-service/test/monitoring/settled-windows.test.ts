import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { SettledWindows } from '../../src/monitoring/settled-windows.js';
import { BLOCK_SECONDS, SqliteMonitoringStore, blockStart } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState, mergeWindowStates } from '../../src/monitoring/window.js';
import type { Registry } from '../../src/registry/registry.js';
import { migrate, openDatabase, versionInTable } from '../../src/storage/sqlite-database.js';
import { mulberry32 } from './random.js';

const HOUR = BLOCK_SECONDS * 1000;
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** A 10-minute window of `requests` requests of 2 rows, one error, feature `a` from U(0, 1). */
function window(start: number, requests: number, version = 1): WindowState {
  const w = new MonitorWindow('m', version, start, 600);
  const random = mulberry32(start / 1000 + version);
  for (let i = 0; i < requests; i++) {
    w.served.add(2, 3, i === 0 ? 'NBD_ERR_INPUT_SHAPE' : null);
    const a = w.feature('a', 'numeric')!;
    if (a.kind === 'numeric') a.reservoir.add(random());
  }
  w.integrity.add({ violations: [{ kind: 'out_of_range', feature: 'a', detail: 'x', rows: 1, served: 'as sent', refused: false }], nulls: [] });
  return w.toJSON();
}

/** Five hours of 10-minute windows, two versions, `requests` growing so that every window differs. */
const day = (): WindowState[] => Array.from({ length: 30 }, (_, i) => [window(T0 + i * 600_000, 10 + i), window(T0 + i * 600_000, 1 + (i % 3), 2)]).flat();

describe('hour blocks', () => {
  let dir: string;
  let store: SqliteMonitoringStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-blocks-'));
    store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), mergeWindowStates);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should keep per hour and version the merge of its windows, a window saved again included', async () => {
    const windows = day();
    await store.saveWindows(windows.slice(0, 25));
    await store.saveWindows(windows.slice(25));
    await store.saveWindows([window(T0 + HOUR + 600_000, 5)]); // the same window again (a restart within it): adds up
    const blocks = await store.loadBlocks('m', T0, T0 + 5 * HOUR);
    expect(blocks.map((b) => [b.block, b.state.modelVersion])).toEqual([0, 1, 2, 3, 4].flatMap((h) => [[T0 + h * HOUR, 1], [T0 + h * HOUR, 2]]));
    for (const { block, state } of blocks) {
      const stored = (await store.loadWindows('m', block, block + HOUR)).filter((w) => w.modelVersion === state.modelVersion);
      expect(stored).toHaveLength(6);
      expect(state.start).toBe(stored[0]!.start);
      expect(state.served.requests).toBe(stored.reduce((n, w) => n + w.served.requests, 0));
      expect(state.served.errorsByCode).toEqual({ NBD_ERR_INPUT_SHAPE: stored.reduce((n, w) => n + w.served.errorsByCode.NBD_ERR_INPUT_SHAPE!, 0) });
      expect(state.integrity!.out_of_range).toBe(stored.reduce((n, w) => n + w.integrity!.out_of_range, 0));
      const a = state.features.a!;
      expect(a.kind === 'numeric' && a.reservoir.seen).toBe(stored.reduce((n, w) => n + (w.features.a!.kind === 'numeric' ? w.features.a!.reservoir.seen : 0), 0));
    }
    // Only hours that lie within the span.
    expect((await store.loadBlocks('m', T0 + 1, T0 + 3 * HOUR)).map((b) => b.block)).toEqual([T0 + HOUR, T0 + HOUR, T0 + 2 * HOUR, T0 + 2 * HOUR]);
  });

  it('should give a span as blocks for its whole settled hours and windows for the rest, adding up to the windows', async () => {
    await store.saveWindows(day());
    const settled = new SettledWindows(store);
    const total = (states: readonly WindowState[]): number[] => [
      states.reduce((n, s) => n + s.served.requests, 0),
      states.reduce((n, s) => n + s.served.rows, 0),
      states.reduce((n, s) => n + (s.integrity?.out_of_range ?? 0), 0)
    ];
    const from = T0 + 25 * 60_000; // inside the first hour's third window
    const to = T0 + 4 * HOUR + 15 * 60_000;
    const span = await settled.span('m', from, to, T0 + 5 * HOUR);
    const blocks = span.filter((s) => s.seconds === BLOCK_SECONDS);
    expect(blocks.map((b) => blockStart(b.start))).toEqual([1, 1, 2, 2, 3, 3].map((h) => T0 + h * HOUR));
    expect(span).toHaveLength(6 + 2 * (4 + 2)); // the blocks, 4 windows before the first whole hour and 2 after, per version
    expect(total(span)).toEqual(total(await store.loadWindows('m', from, to)));
    // An hour not settled yet (a window of it may still be open) is read window by window.
    expect((await settled.span('m', from, to, T0 + 3 * HOUR + 1)).filter((s) => s.seconds === BLOCK_SECONDS)).toHaveLength(4);
    // Asked again: the same states, from the cache.
    expect(await settled.span('m', from, to, T0 + 5 * HOUR)).toEqual(span);
  });

  it('should read a window and its block again once this process writes that window again', async () => {
    await store.saveWindows(day());
    const settled = new SettledWindows(store);
    const requests = async (): Promise<number> => (await settled.span('m', T0, T0 + 2 * HOUR, T0 + 5 * HOUR)).reduce((n, s) => n + s.served.requests, 0);
    const before = await requests();
    const again = [window(T0 + HOUR, 4)];
    await store.saveWindows(again);
    settled.stored(again);
    expect(await requests()).toBe(before + 4);
  });

  it('should drop the blocks of hours the retention cuts into, and still count their remaining windows', async () => {
    await store.saveWindows(day());
    await store.prune(T0 + HOUR + 30 * 60_000, 1_000_000);
    expect((await store.loadBlocks('m', T0, T0 + 5 * HOUR)).map((b) => b.block)[0]).toBe(T0 + 2 * HOUR);
    const span = await new SettledWindows(store).span('m', T0, T0 + 5 * HOUR, T0 + 5 * HOUR);
    expect(span.reduce((n, s) => n + s.served.requests, 0)).toBe((await store.loadWindows('m', T0, T0 + 5 * HOUR)).reduce((n, w) => n + w.served.requests, 0));
  });

  it('should answer status over the blocks as over the windows one by one', async () => {
    await store.saveWindows(day());
    const version = { model: 'm', version: 1, signature: { inputs: [], outputs: [], batchable: true }, metadata: {} };
    const registry = {
      getVersion: async () => version,
      getProfile: async () => ({ features: { a: { kind: 'numeric', sample: Array.from({ length: 200 }, mulberry32(9)) } } }),
      getModel: async () => ({ name: 'm', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
    } as unknown as Registry;
    const state = new MonitorState(registry, store, { windowSeconds: 600, now: () => T0 + 5 * HOUR + 10_000 });
    try {
      const s = await state.status('m', 5 * HOUR);
      const windows = await store.loadWindows('m', T0, T0 + 5 * HOUR + 10_000);
      const of = (v: number) => windows.filter((w) => w.modelVersion === v);
      expect(s.ops.requests).toBe(windows.reduce((n, w) => n + w.served.requests, 0));
      expect(s.ops.errors_by_code).toEqual({ NBD_ERR_INPUT_SHAPE: windows.length });
      expect(s.versions.map((v) => [v.version, v.ops.rows, v.integrity.out_of_range])).toEqual(
        [1, 2].map((v) => [v, of(v).reduce((n, w) => n + w.served.rows, 0), of(v).length])
      );
      expect(Object.keys(s.drift)).toEqual(['a']);
      expect(s.drift.a).toMatchObject({ method: 'ks', drifted: false });
    } finally {
      await state.close();
    }
  });

  it('should build the blocks of windows an older build stored', async () => {
    const file = path.join(dir, 'old.sqlite');
    const old = new Database(file);
    // What the previous build left: its own schema table at version 1, windows, no blocks.
    old.exec(`CREATE TABLE monitoring_schema (version INTEGER NOT NULL); INSERT INTO monitoring_schema VALUES (1);
      CREATE TABLE monitor_windows (model TEXT NOT NULL, version INTEGER NOT NULL, start INTEGER NOT NULL, seconds INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (model, start, version));
      CREATE TABLE monitor_predictions (seq INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, window_start INTEGER NOT NULL, label TEXT, score REAL, value REAL, at INTEGER NOT NULL, labelled INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX monitor_predictions_by_key ON monitor_predictions(model, key);
      CREATE INDEX monitor_predictions_by_at ON monitor_predictions(at);
      CREATE TABLE monitor_performance (model TEXT NOT NULL, version INTEGER NOT NULL, window_start INTEGER NOT NULL, state TEXT NOT NULL, PRIMARY KEY (model, version, window_start));
      CREATE TABLE monitor_detectors (model TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL, detected_at INTEGER, PRIMARY KEY (model, version));`);
    const put = old.prepare('INSERT INTO monitor_windows VALUES (?, ?, ?, ?, ?)');
    for (const w of day()) put.run(w.model, w.modelVersion, w.start, w.seconds, JSON.stringify(w));
    old.close();
    const upgraded = new SqliteMonitoringStore(file, mergeWindowStates);
    try {
      const blocks = await upgraded.loadBlocks('m', T0, T0 + 5 * HOUR);
      expect(blocks).toHaveLength(10);
      expect(blocks.reduce((n, b) => n + b.state.served.requests, 0)).toBe(day().reduce((n, w) => n + w.served.requests, 0));
      const raw = new Database(file, { readonly: true });
      expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'monitor_predictions_by_at'").all()).toEqual([]);
      expect(raw.prepare("SELECT version FROM schema_versions WHERE component = 'monitoring'").get()).toEqual({ version: 4 });
      raw.close();
    } finally {
      await upgraded.close();
    }
  });
});

describe('migrate', () => {
  it('should run what a component has not seen once, record its version, and adopt where an older build kept it', async () => {
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE legacy_schema (version INTEGER NOT NULL); INSERT INTO legacy_schema VALUES (1)');
    const ran: string[] = [];
    const steps = ['one', 'two', 'three'].map((name) => (d: Database.Database) => {
      ran.push(name);
      d.exec(`CREATE TABLE ${name} (x INTEGER)`);
    });
    migrate(db, 'thing', steps.slice(0, 2), versionInTable('legacy_schema'));
    expect(ran).toEqual(['two']);
    migrate(db, 'thing', steps, versionInTable('legacy_schema'));
    migrate(db, 'thing', steps, versionInTable('legacy_schema'));
    migrate(db, 'other', ['CREATE TABLE other_one (x INTEGER)']);
    expect(ran).toEqual(['two', 'three']);
    expect(db.prepare('SELECT component, version FROM schema_versions ORDER BY component').all()).toEqual([
      { component: 'other', version: 1 },
      { component: 'thing', version: 3 }
    ]);
    db.close();
  });
});
