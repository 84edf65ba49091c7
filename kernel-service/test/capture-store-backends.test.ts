/**
 * Captured requests on both backends: the same cases against SQLite (a database file) and
 * PostgreSQL (a fresh database each, on the file's throwaway server).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { type CaptureStore, type CapturedRequest, SqliteCaptureStore } from '../src/monitoring/capture-store.js';
import { PostgresCaptureStore } from '../src/monitoring/postgres-capture-store.js';
import { openPostgres } from '../src/storage/postgres-database.js';
import { openDatabase } from '../src/storage/sqlite-database.js';

const postgres = usePostgres();

/** One database; `store()` opens another capture store on it (another replica). */
interface Site {
  store(): Promise<CaptureStore>;
  dispose(): Promise<void>;
}

async function sqliteSite(): Promise<Site> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nbd-capture-'));
  const dbs: Array<ReturnType<typeof openDatabase>> = [];
  return {
    store: async () => {
      const db = openDatabase(path.join(dir, 'registry.sqlite'));
      dbs.push(db);
      return new SqliteCaptureStore(db);
    },
    dispose: async () => {
      for (const db of dbs) db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function postgresSite(): Promise<Site> {
  const url = await postgres().freshDatabase();
  const pools: Array<{ end(): Promise<void> }> = [];
  return {
    store: async () => {
      const pool = await openPostgres(url, { max: 2 });
      pools.push(pool);
      return PostgresCaptureStore.open(pool);
    },
    dispose: async () => {
      for (const pool of pools) await pool.end();
    }
  };
}

const T0 = Date.UTC(2026, 0, 1);

function request(requestId: string, at: number, options: Partial<CapturedRequest> = {}): CapturedRequest {
  const rows = options.rows ?? 2;
  return {
    model: 'm',
    version: 1,
    requestId,
    at,
    shadow: false,
    rows,
    latencyMs: 1.5,
    expiresAt: at + 1000,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 2], data: Array.from({ length: rows * 2 }, (_, i) => i), hashed: [1] }],
    outputs: [{ name: 'y', datatype: 'BYTES', shape: [rows], data: Array.from({ length: rows }, (_, i) => (i % 2 ? 'yes' : null)) }],
    ...options
  };
}

const query = { model: 'm', from: T0, to: T0 + 10_000, shadow: false, maxRows: 1000 };

describe.each([
  { name: 'SQLite', open: sqliteSite },
  { name: 'PostgreSQL', open: postgresSite }
])('CaptureStore on $name', ({ open }) => {
  let site: Site;
  let store: CaptureStore;

  beforeEach(async () => {
    site = await open();
    store = await site.store();
  });
  afterEach(() => site.dispose());

  it('should read back captured requests as appended, oldest first, by model, version, time and served or shadow', async () => {
    const served = [request('b', T0 + 20), request('a', T0 + 10, { rows: 1 }), request('c', T0 + 30, { version: 2 })];
    await store.append([...served, request('a', T0 + 10, { shadow: true, version: 2 }), request('z', T0 + 10, { model: 'n' })]);
    await store.append([]);
    expect(await store.read(query)).toEqual([served[1], served[0], served[2]]);
    expect((await store.read({ ...query, version: 2 })).map((r) => r.requestId)).toEqual(['c']);
    expect((await store.read({ ...query, shadow: true })).map((r) => [r.requestId, r.shadow, r.version])).toEqual([['a', true, 2]]);
    expect((await store.read({ ...query, from: T0 + 11, to: T0 + 30 })).map((r) => r.requestId)).toEqual(['b']);
  });

  it('should read requests until they hold the rows asked for', async () => {
    await store.append([request('a', T0 + 1, { rows: 3 }), request('b', T0 + 2, { rows: 3 }), request('c', T0 + 3, { rows: 3 })]);
    expect((await store.read({ ...query, maxRows: 3 })).map((r) => r.requestId)).toEqual(['a']);
    expect((await store.read({ ...query, maxRows: 4 })).map((r) => r.requestId)).toEqual(['a', 'b']);
    expect((await store.read({ ...query, maxRows: Number.MAX_SAFE_INTEGER })).map((r) => r.requestId)).toEqual(['a', 'b', 'c']);
  });

  it('should keep ground truth of captured requests only, the last given counting, by row key', async () => {
    await store.append([request('a', T0 + 1), request('b', T0 + 2)]);
    await store.recordTruth('m', [
      { key: 'a#0', truth: 1 },
      { key: 'a#1', truth: 'x' },
      { key: 'b', truth: { label: 'no' } },
      { key: 'unknown', truth: 1 },
      { key: 'a#0', truth: 0 }
    ]);
    await store.recordTruth('m', [{ key: 'b', truth: null }]);
    expect([...(await store.truthOf('m', ['a#1', 'a#0', 'b', 'unknown', 'b#0']))]).toEqual([
      ['a#1', 'x'],
      ['a#0', 0],
      ['b', null]
    ]);
    expect((await store.truthOf('n', ['a#0'])).size).toBe(0);
  });

  it('should drop requests whose retention ended, and their ground truth', async () => {
    await store.append([request('a', T0, { expiresAt: T0 + 100 }), request('b', T0 + 1, { expiresAt: T0 + 300 })]);
    await store.recordTruth('m', [
      { key: 'a', truth: 1 },
      { key: 'b', truth: 2 }
    ]);
    expect(await store.prune(T0 + 200)).toBe(1);
    expect(await store.prune(T0 + 200)).toBe(0);
    expect((await store.read(query)).map((r) => r.requestId)).toEqual(['b']);
    expect([...(await store.truthOf('m', ['a', 'b']))]).toEqual([['b', 2]]);
  });

  it('should keep one secret salt for every replica of the database', async () => {
    const salt = await store.salt();
    expect(salt).toHaveLength(32);
    const other = await site.store();
    expect((await other.salt()).equals(salt)).toBe(true);
    expect((await store.salt()).equals(salt)).toBe(true);
  });
});
