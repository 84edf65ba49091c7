/**
 * The replay store on both backends: the same cases against SQLite (the registry's file) and
 * PostgreSQL (a fresh database each, on the file's throwaway server).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { PostgresReplayStore } from '../src/replay/postgres-replay-store.js';
import { type ReplayStore, SqliteReplayStore, type StoredReplay } from '../src/replay/replay-store.js';
import { openPostgres } from '../src/storage/postgres-database.js';
import { openDatabase } from '../src/storage/sqlite-database.js';

const postgres = usePostgres();

async function sqliteStore(): Promise<{ store: ReplayStore; dispose(): Promise<void> }> {
  const db = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-replays-')), 'registry.sqlite'));
  return { store: new SqliteReplayStore(db), dispose: async () => db.close() };
}

async function postgresStore(): Promise<{ store: ReplayStore; dispose(): Promise<void> }> {
  const pool = await openPostgres(await postgres().freshDatabase());
  return { store: await PostgresReplayStore.open(pool), dispose: () => pool.end() };
}

const replay = (over: Partial<StoredReplay> = {}): Omit<StoredReplay, 'id' | 'createdAt'> => ({
  model: 'iris',
  version: 2,
  source: 'captured',
  rows: 40,
  agreement: 0.95,
  changed: 2,
  metrics: null,
  from: '2024-05-01T10:00:00.000Z',
  to: '2024-05-01T11:00:00.000Z',
  createdBy: 'ana',
  ...over
});

describe.each([
  { name: 'SQLite', open: sqliteStore },
  { name: 'PostgreSQL', open: postgresStore }
])('ReplayStore on $name', ({ open }) => {
  let opened: { store: ReplayStore; dispose(): Promise<void> };

  beforeEach(async () => {
    opened = await open();
  });
  afterEach(() => opened.dispose());

  it('should have no replay of a version never replayed', async () => {
    expect(await opened.store.latest('iris', 2)).toBeUndefined();
  });

  it("should give a version's latest replay as it was saved, with who asked", async () => {
    const { store } = opened;
    const first = await store.save(replay());
    const second = await store.save(replay({ source: 'shadow', agreement: null, changed: 5, createdBy: 'rita' }));
    await store.save(replay({ version: 3, rows: 7 }));
    expect(second.id).toBeGreaterThan(first.id);
    expect(Date.parse(second.createdAt)).not.toBeNaN();
    expect(await store.latest('iris', 2)).toEqual(second);
    expect(await store.latest('iris', 3)).toMatchObject({ version: 3, rows: 7, createdBy: 'ana' });
    expect(await store.latest('churn', 2)).toBeUndefined();
  });
});
