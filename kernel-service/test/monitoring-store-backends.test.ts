/**
 * The monitoring store on both backends: the same cases against SQLite (a database file) and
 * PostgreSQL (a fresh database each, on the file's throwaway server). "Replicas" are stores
 * with their own replica names on one database (on PostgreSQL each with a pool of its own).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { addClassification } from '../src/monitoring/accumulators.js';
import type { MonitoringStore, PredictionRecord } from '../src/monitoring/monitoring-store.js';
import { PostgresMonitoringStore } from '../src/monitoring/postgres-store.js';
import { SqliteMonitoringStore } from '../src/monitoring/store.js';
import { BLOCK_SECONDS } from '../src/monitoring/window-blocks.js';
import { MonitorWindow, type WindowState, mergeWindowStates } from '../src/monitoring/window.js';
import { openPostgres } from '../src/storage/postgres-database.js';

const postgres = usePostgres();

const HOUR = BLOCK_SECONDS * 1000;
const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** One database; `store(replica)` opens a store on it as that replica. */
interface Site {
  store(replica: string): Promise<MonitoringStore>;
  dispose(): Promise<void>;
}

async function sqliteSite(): Promise<Site> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nbd-monitoring-'));
  const file = path.join(dir, 'registry.sqlite');
  const stores: MonitoringStore[] = [];
  return {
    store: async (replica) => {
      const store = new SqliteMonitoringStore(file, mergeWindowStates, replica);
      stores.push(store);
      return store;
    },
    dispose: async () => {
      for (const s of stores) await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function postgresSite(): Promise<Site> {
  const url = await postgres().freshDatabase();
  const opened: Array<{ store: MonitoringStore; end(): Promise<void> }> = [];
  return {
    store: async (replica) => {
      const pool = await openPostgres(url, { max: 4 });
      const store = await PostgresMonitoringStore.open(pool, mergeWindowStates, replica);
      opened.push({ store, end: () => pool.end() });
      return store;
    },
    dispose: async () => {
      for (const o of opened) {
        await o.store.close();
        await o.end();
      }
    }
  };
}

/** A window of `requests` requests of 2 rows each (latency 3 ms, the first an error). */
function window(start: number, requests: number, options: { version?: number; seconds?: number; model?: string } = {}): WindowState {
  const w = new MonitorWindow(options.model ?? 'm', options.version ?? 1, start, options.seconds ?? 600);
  for (let i = 0; i < requests; i++) w.served.add(2, 3, i === 0 ? 'NBD_ERR_INPUT_SHAPE' : null);
  return w.toJSON();
}

const prediction = (key: string, at = T0, label = '1'): PredictionRecord => ({ model: 'm', key, version: 1, windowStart: T0, label, score: 0.75, value: null, at });

describe.each([
  { name: 'SQLite', open: sqliteSite },
  { name: 'PostgreSQL', open: postgresSite }
])('MonitoringStore on $name', ({ open }) => {
  let site: Site;
  let store: MonitoringStore;

  beforeEach(async () => {
    site = await open();
    store = await site.store('a');
  });
  afterEach(() => site.dispose());

  it('should merge a window saved again under the same key, and find windows by overlap', async () => {
    await store.saveWindows([window(T0, 3), window(T0, 2, { version: 2 }), window(T0 + 600_000, 4)]);
    await store.saveWindows([window(T0, 5)]);
    expect((await store.loadWindow('m', 1, T0))!.served.requests).toBe(8);
    expect((await store.loadWindow('m', 2, T0))!.served.requests).toBe(2);
    expect(await store.loadWindow('m', 1, T0 + 1)).toBeUndefined();
    expect(await store.windowKeys('m', T0, T0 + 1_200_000)).toEqual([
      { version: 1, start: T0 },
      { version: 2, start: T0 },
      { version: 1, start: T0 + 600_000 }
    ]);
    // [from, to) overlaps: the first window ends where the span starts.
    expect((await store.loadWindows('m', T0 + 600_000, T0 + 600_001)).map((w) => [w.start, w.served.requests])).toEqual([[T0 + 600_000, 4]]);
    expect(await store.loadWindows('other', T0, T0 + HOUR)).toEqual([]);
  });

  it('should keep per hour and version every window of the hour merged, and give only hours within the span', async () => {
    const windows = Array.from({ length: 12 }, (_, i) => window(T0 + i * 600_000, i + 1));
    await store.saveWindows(windows.slice(0, 4));
    await store.saveWindows(windows.slice(4));
    await store.saveWindows([window(T0 + 600_000, 10)]); // a window saved again adds to its block
    const blocks = await store.loadBlocks('m', T0, T0 + 2 * HOUR);
    expect(blocks.map((b) => [b.block, b.state.start, b.state.seconds, b.state.served.requests])).toEqual([
      [T0, T0, BLOCK_SECONDS, 1 + 2 + 3 + 4 + 5 + 6 + 10],
      [T0 + HOUR, T0 + HOUR, BLOCK_SECONDS, 7 + 8 + 9 + 10 + 11 + 12]
    ]);
    expect(blocks[0]!.state.served.errorsByCode).toEqual({ NBD_ERR_INPUT_SHAPE: 7 });
    expect((await store.loadBlocks('m', T0 + 1, T0 + 2 * HOUR)).map((b) => b.block)).toEqual([T0 + HOUR]);
  });

  it('should log predictions and let each be claimed once, a single-row request by either key', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => prediction(`r${i}#0`, T0 + i));
    await store.appendPredictions([...rows, prediction('single', T0 + 500, '0'), prediction('dup', T0 + 1, 'old'), prediction('dup', T0 + 2, 'new')]);
    const claimed = await store.claimPredictions('m', ['r0', 'r119#0', 'single#0', 'dup', 'dup', 'dup', 'missing']);
    expect(claimed.map((c) => [c.key, c.prediction.key, c.prediction.label, c.prediction.at])).toEqual([
      ['r0', 'r0#0', '1', T0],
      ['r119#0', 'r119#0', '1', T0 + 119],
      ['single#0', 'single', '0', T0 + 500],
      ['dup', 'dup', 'new', T0 + 2],
      ['dup', 'dup', 'old', T0 + 1]
    ]);
    expect(claimed[0]!.prediction).toEqual({ model: 'm', key: 'r0#0', version: 1, windowStart: T0, label: '1', score: 0.75, value: null, at: T0 });
    expect(await store.claimPredictions('m', ['r0#0', 'r119#0', 'single', 'dup'])).toEqual([]);
    expect(await store.claimPredictions('other', ['r1#0'])).toEqual([]);
    expect((await store.claimPredictions('m', ['r1#0', 'r2'])).map((c) => c.prediction.key)).toEqual(['r1#0', 'r2#0']);
  });

  it('should never claim one prediction twice when two replicas claim at once', async () => {
    const other = await site.store('b');
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await store.appendPredictions(keys.map((k) => prediction(k)));
    // Each replica claims every key, in four concurrent requests of its own.
    const claims = [store, other].flatMap((s) => [0, 1, 2, 3].map((part) => s.claimPredictions('m', keys.filter((_, i) => i % 4 === part))));
    const claimed = (await Promise.all(claims)).flat().map((c) => c.key);
    expect(claimed.sort()).toEqual([...keys].sort());
  });

  it('should add to the performance of a window and read it by window start', async () => {
    await store.updatePerformance('m', 1, T0, (p) => addClassification(p, '1', '1', null));
    await store.updatePerformance('m', 1, T0, (p) => addClassification(p, '1', '0', null));
    await store.updatePerformance('m', 1, T0 + 600_000, (p) => addClassification(p, '0', '0', null));
    await store.updatePerformance('m', 2, T0, (p) => addClassification(p, '0', '0', null));
    expect((await store.loadPerformance('m', 1, T0, T0 + 600_000)).map((p) => [p.labelled, p.correct])).toEqual([[2, 1]]);
    expect((await store.loadPerformance('m', 1, T0, T0 + HOUR)).map((p) => p.labelled).sort()).toEqual([1, 2]);
    expect(await store.loadPerformance('m', 3, T0, T0 + HOUR)).toEqual([]);
  });

  it('should keep a detector per version, replaced when saved again', async () => {
    expect(await store.loadDetector('m', 1)).toBeUndefined();
    await store.saveDetector('m', 1, { state: { kind: 'adwin', n: 1 }, detectedAt: null });
    await store.saveDetector('m', 1, { state: { kind: 'adwin', n: 2 }, detectedAt: T0 + 5 });
    await store.saveDetector('m', 2, { state: { kind: 'ddm' }, detectedAt: null });
    expect(await store.loadDetector('m', 1)).toEqual({ state: { kind: 'adwin', n: 2 }, detectedAt: T0 + 5 });
    expect(await store.loadDetector('m', 2)).toEqual({ state: { kind: 'ddm' }, detectedAt: null });
  });

  it("should share a replica's open windows with the others, until it saves them or publishes others", async () => {
    const other = await site.store('b');
    await store.savePartials([window(T0, 3), window(T0 + 600_000, 1, { model: 'n' })], T0 + 10);
    expect(await store.loadPartials('m', T0, T0 + HOUR)).toEqual([]); // its own are not the others'
    expect((await other.loadPartials('m', T0, T0 + HOUR)).map((p) => [p.state.served.requests, p.updatedAt])).toEqual([[3, T0 + 10]]);
    expect(await other.loadPartials('m', T0 + 600_000, T0 + HOUR)).toEqual([]);
    expect((await other.partialModels(T0)).sort()).toEqual(['m', 'n']);
    expect(await other.partialModels(T0 + 11)).toEqual([]);
    // Published again: replaces what it published.
    await store.savePartials([window(T0, 5)], T0 + 20);
    expect((await other.loadPartials('m', T0, T0 + HOUR)).map((p) => [p.state.served.requests, p.updatedAt])).toEqual([[5, T0 + 20]]);
    expect(await other.partialModels(T0)).toEqual(['m']);
    // Saved: counted in one place.
    await store.saveWindows([window(T0, 5)]);
    expect(await other.loadPartials('m', T0, T0 + HOUR)).toEqual([]);
  });

  it('should tell a replica which windows the others saved since it last looked, and not its own', async () => {
    const other = await site.store('b');
    const first = await other.windowWrites(0);
    expect(first.writes).toEqual([]);
    await store.saveWindows([window(T0, 1), window(T0, 1, { version: 2 })]);
    await other.saveWindows([window(T0 + 600_000, 1)]);
    const seen = await other.windowWrites(first.last);
    expect(seen.writes).toEqual([
      { model: 'm', version: 1, start: T0 },
      { model: 'm', version: 2, start: T0 }
    ]);
    expect((await other.windowWrites(seen.last)).writes).toEqual([]);
    expect((await store.windowWrites(0)).writes).toEqual([{ model: 'm', version: 1, start: T0 + 600_000 }]);
  });

  it('should save the open windows of a replica that went silent once, whichever replicas ask at once', async () => {
    const live = [await site.store('b'), await site.store('c')];
    await store.saveWindows([window(T0, 2)]);
    await store.savePartials([window(T0, 3), window(T0 + 600_000, 4)], T0 + 100);
    await live[0]!.savePartials([window(T0, 7)], T0 + 200);
    const { last } = await live[1]!.windowWrites(0);
    // Silent before T0 + 150: the first replica's, not the second's.
    const adopted = await Promise.all([...live, ...live].map((s) => s.adoptPartials(T0 + 150)));
    expect(adopted.reduce((a, b) => a + b, 0)).toBe(2);
    expect((await store.loadWindow('m', 1, T0))!.served.requests).toBe(5);
    expect((await store.loadWindow('m', 1, T0 + 600_000))!.served.requests).toBe(4);
    expect((await live[1]!.loadPartials('m', T0, T0 + HOUR)).map((p) => p.state.served.requests)).toEqual([7]);
    expect((await store.loadBlocks('m', T0, T0 + HOUR))[0]!.state.served.requests).toBe(9);
    // Saved under the silent replica's name: every live replica reads them again.
    const writes = (await live[1]!.windowWrites(last)).writes.sort((x, y) => x.start - y.start);
    expect(writes).toEqual([
      { model: 'm', version: 1, start: T0 },
      { model: 'm', version: 1, start: T0 + 600_000 }
    ]);
  });

  it('should drop what is older than the cut, and the oldest predictions past the most kept', async () => {
    await store.saveWindows([window(T0, 1), window(T0 + HOUR, 2)]);
    await store.updatePerformance('m', 1, T0, (p) => addClassification(p, '1', '1', null));
    await store.updatePerformance('m', 1, T0 + HOUR, (p) => addClassification(p, '1', '1', null));
    await store.appendPredictions([prediction('old', T0), ...Array.from({ length: 5 }, (_, i) => prediction(`new${i}`, T0 + HOUR + i))]);
    await store.prune(T0 + HOUR, 3);
    expect((await store.loadWindows('m', T0, T0 + 2 * HOUR)).map((w) => w.start)).toEqual([T0 + HOUR]);
    expect((await store.loadBlocks('m', T0, T0 + 2 * HOUR)).map((b) => b.block)).toEqual([T0 + HOUR]);
    expect(await store.loadPerformance('m', 1, T0, T0 + 2 * HOUR)).toHaveLength(1);
    const keys = ['old', 'new0', 'new1', 'new2', 'new3', 'new4'];
    expect((await store.claimPredictions('m', keys)).map((c) => c.key)).toEqual(['new2', 'new3', 'new4']);
  });

  it('should keep none of the calls of a transaction that throws, and all of one that returns', async () => {
    await expect(
      store.transaction(async () => {
        await store.appendPredictions([prediction('a')]);
        await store.saveDetector('m', 1, { state: { kind: 'adwin' }, detectedAt: null });
        await store.saveWindows([window(T0, 1)]);
        throw new Error('half-way');
      })
    ).rejects.toThrow('half-way');
    expect(await store.claimPredictions('m', ['a'])).toEqual([]);
    expect(await store.loadDetector('m', 1)).toBeUndefined();
    expect(await store.loadWindow('m', 1, T0)).toBeUndefined();

    const result = await store.transaction(async () => {
      await store.appendPredictions([prediction('b')]);
      return 'done';
    });
    expect(result).toBe('done');
    expect((await store.claimPredictions('m', ['b'])).map((c) => c.key)).toEqual(['b']);
  });

  it('should run transactions asked for at once one after the other, in the order asked', async () => {
    const order: string[] = [];
    const step = (name: string) =>
      store.transaction(async () => {
        order.push(`${name} begins`);
        await store.appendPredictions([prediction(name)]);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`${name} ends`);
      });
    const claim = store.transaction(() => store.claimPredictions('m', ['first', 'second']));
    await Promise.all([step('first'), step('second')]);
    // Asked for before the appends: it found nothing; asked for after, it finds both.
    expect(await claim).toEqual([]);
    expect(order).toEqual(['first begins', 'first ends', 'second begins', 'second ends']);
    expect((await store.transaction(() => store.claimPredictions('m', ['first', 'second']))).map((c) => c.key)).toEqual(['first', 'second']);
  });
});
