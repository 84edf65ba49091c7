/**
 * The artifact store on both backends: the same cases against a folder and against PostgreSQL
 * (a fresh database each, on the file's throwaway server, with a local cache folder per store).
 * `another()` opens a second store on the same storage, as a replica on another machine would.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { type ArtifactStore, FolderArtifactStore, MODEL_FILE } from '../src/registry/artifact-store.js';
import { CHUNK_BYTES, PostgresArtifactStore } from '../src/registry/postgres-artifact-store.js';
import { type PostgresPool, openPostgres } from '../src/storage/postgres-database.js';

const postgres = usePostgres();
const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'nbd-artifacts-'));

interface ArtifactBackend {
  another(): Promise<ArtifactStore>;
  dispose(): Promise<void>;
}

async function folderBackend(): Promise<{ store: ArtifactStore; backend: ArtifactBackend }> {
  const root = tempDir();
  return { store: new FolderArtifactStore(root), backend: { another: async () => new FolderArtifactStore(root), dispose: async () => undefined } };
}

async function postgresBackend(): Promise<{ store: ArtifactStore; backend: ArtifactBackend }> {
  const url = await postgres().freshDatabase();
  const pools: PostgresPool[] = [];
  const open = async () => {
    const pool = await openPostgres(url);
    pools.push(pool);
    return PostgresArtifactStore.open(pool, tempDir(), { sweepGraceMs: 0 });
  };
  return { store: await open(), backend: { another: open, dispose: async () => void (await Promise.all(pools.map((p) => p.end()))) } };
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe.each([
  { name: 'a folder', open: folderBackend },
  { name: 'PostgreSQL', open: postgresBackend }
])('ArtifactStore on $name', ({ open }) => {
  let store: ArtifactStore;
  let backend: ArtifactBackend;

  beforeEach(async () => {
    ({ store, backend } = await open());
  });
  afterEach(() => backend.dispose());

  it('should key an artifact by the sha256 of its model bytes', async () => {
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('onnx')]]));
    expect(staged.sha256).toBe(sha256('onnx'));
    expect(staged.key).toBe(staged.sha256);
    await store.commit(staged);
    const folder = await store.localFolder(staged.key);
    expect(readFileSync(path.join(folder, MODEL_FILE), 'utf8')).toBe('onnx');
  });

  it('should key a model with external data by all of its files', async () => {
    const a = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('1')]]));
    const b = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('2')]]));
    expect(a.sha256).toBe(b.sha256);
    expect(a.key).not.toBe(b.key);
  });

  it('should refuse an artifact without a model file', async () => {
    await expect(store.stage(new Map([['w.bin', Buffer.from('1')]]))).rejects.toThrowError(`an artifact needs ${MODEL_FILE}`);
  });

  it('should keep the first copy when the same artifact is committed twice', async () => {
    const files = new Map([[MODEL_FILE, Buffer.from('same')]]);
    const staged = await store.stage(files);
    await store.commit(staged);
    const first = await store.localFolder(staged.key);
    await store.commit(await store.stage(files));
    expect(await store.localFolder(staged.key)).toBe(first);
    expect(readdirSync(path.dirname(first))).toHaveLength(1);
  });

  it('should give another store on the same storage every file, byte for byte, larger ones included', async () => {
    const weights = Buffer.alloc(Math.floor(2.5 * CHUNK_BYTES));
    for (let i = 0; i < weights.length; i++) weights[i] = (i * 31) % 251;
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('graph')], ['data/weights.bin', weights], ['empty.bin', Buffer.alloc(0)]]));
    await store.commit(staged);
    const elsewhere = await backend.another();
    const folder = await elsewhere.localFolder(staged.key);
    expect(readFileSync(path.join(folder, MODEL_FILE), 'utf8')).toBe('graph');
    expect(sha256(readFileSync(path.join(folder, 'data', 'weights.bin')))).toBe(sha256(weights));
    expect(readFileSync(path.join(folder, 'empty.bin'))).toHaveLength(0);
    // Loaded once, then read where it is.
    expect(await elsewhere.localFolder(staged.key)).toBe(folder);
  });

  it('should sweep temporary and unreferenced artifacts and keep the rest', async () => {
    const kept = await store.stage(new Map([[MODEL_FILE, Buffer.from('kept')]]));
    await store.commit(kept);
    const orphan = await store.stage(new Map([[MODEL_FILE, Buffer.from('orphan')]]));
    await store.commit(orphan);
    const interrupted = await store.stage(new Map([[MODEL_FILE, Buffer.from('interrupted')]]));
    const removed = await store.sweep(new Set([kept.key]));
    expect(removed.sort()).toEqual([path.basename(interrupted.folder), orphan.key].sort());
    expect(readdirSync(path.dirname(await store.localFolder(kept.key)))).toEqual([kept.key]);
    expect(readFileSync(path.join(await (await backend.another()).localFolder(kept.key), MODEL_FILE), 'utf8')).toBe('kept');
  });

  it('should forget a discarded artifact', async () => {
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('never')]]));
    await store.discard(staged);
    expect(await store.sweep(new Set())).toEqual([]);
  });
});

describe('PostgresArtifactStore', () => {
  let pool: PostgresPool;
  beforeEach(async () => {
    pool = await openPostgres(await postgres().freshDatabase());
  });
  afterEach(() => pool.end());

  it('should keep the bytes in chunks and show an upload to nobody before commit', async () => {
    const store = await PostgresArtifactStore.open(pool, tempDir(), { sweepGraceMs: 0 });
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.alloc(CHUNK_BYTES + 1, 7)]]));
    const chunks = await pool.query<{ seq: number; size: number }>('SELECT seq, length(bytes) AS size FROM artifact_chunks ORDER BY seq');
    expect(chunks.rows).toEqual([
      { seq: 0, size: CHUNK_BYTES },
      { seq: 1, size: 1 }
    ]);
    const other = await PostgresArtifactStore.open(pool, tempDir());
    await expect(other.localFolder(staged.key)).rejects.toThrowError(`no artifact ${staged.key} in the database`);
    await store.discard(staged);
    await expect(store.commit(staged)).rejects.toThrowError(/is gone: it was discarded, or swept as abandoned/);
    expect((await pool.query('SELECT * FROM artifact_chunks')).rowCount).toBe(0);
  });

  it('should refuse to load an artifact whose bytes were damaged, and leave no folder for it', async () => {
    const store = await PostgresArtifactStore.open(pool, tempDir());
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('model bytes')]]));
    await store.commit(staged);
    await pool.query("UPDATE artifact_chunks SET bytes = 'model bytez'::bytea");
    const cache = tempDir();
    const other = await PostgresArtifactStore.open(pool, cache);
    await expect(other.localFolder(staged.key)).rejects.toThrowError(/is damaged in the database: its model.onnx has sha256/);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('should leave young unreferenced artifacts to a replica that may be registering them', async () => {
    const store = await PostgresArtifactStore.open(pool, tempDir());
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('just now')]]));
    await store.commit(staged);
    expect(await store.sweep(new Set())).toEqual([staged.key]);
    // Swept from this replica's cache only: the database keeps it within the grace period.
    expect(readFileSync(path.join(await store.localFolder(staged.key), MODEL_FILE), 'utf8')).toBe('just now');
  });

  it('should leave an upload under way to the replica on the same state dir that stages it', async () => {
    const cache = tempDir();
    const staging = await PostgresArtifactStore.open(pool, cache);
    const starting = await PostgresArtifactStore.open(pool, cache);
    const staged = await staging.stage(new Map([[MODEL_FILE, Buffer.from('under way')]]));
    expect(await starting.sweep(new Set())).toEqual([]);
    await staging.commit(staged);
    expect(readFileSync(path.join(await starting.localFolder(staged.key), MODEL_FILE), 'utf8')).toBe('under way');
  });
});
