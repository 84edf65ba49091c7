/**
 * Model artifacts in PostgreSQL, so that a replica on another machine needs nothing but the
 * database URL. Content-addressed as on disk (the same keys as artifact-store.ts): an artifact
 * is its files, each file's bytes in chunks of 1 MiB (`artifact_chunks`), so no row and no
 * message is larger than that.
 *
 * `stage` writes the files in one transaction as an upload that nobody sees yet (and into the
 * local cache's temporary folder); `commit` makes the upload the artifact of its key in one
 * step (or drops it when that artifact exists already); a process killed in between leaves an
 * upload that `sweep` removes. `localFolder` streams an artifact's chunks, one at a time, into
 * the local cache (a folder store): into a temporary folder, flushed, then renamed into place,
 * so a killed process never leaves a half file under a key.
 */
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { type PostgresMigration, type PostgresPool, migratePostgres, transaction } from '../storage/postgres-database.js';
import { type ArtifactStore, FolderArtifactStore, MODEL_FILE, type StagedArtifact } from './artifact-store.js';

/** The bytes in one `artifact_chunks` row. */
export const CHUNK_BYTES = 1024 * 1024;

const MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE artifacts (
     key TEXT PRIMARY KEY,
     sha256 TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   -- Staged, not yet committed: its files are nobody's artifact until commit moves them.
   CREATE TABLE artifact_uploads (
     id TEXT PRIMARY KEY,
     key TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE artifact_files (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     artifact TEXT REFERENCES artifacts(key) ON DELETE CASCADE,
     upload TEXT REFERENCES artifact_uploads(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     size BIGINT NOT NULL,
     CHECK ((artifact IS NULL) <> (upload IS NULL)),
     UNIQUE (artifact, name),
     UNIQUE (upload, name)
   );
   CREATE TABLE artifact_chunks (
     file INTEGER NOT NULL REFERENCES artifact_files(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     bytes BYTEA NOT NULL,
     PRIMARY KEY (file, seq)
   );`
];

export interface PostgresArtifactStoreOptions {
  /**
   * Uploads and unreferenced artifacts younger than this are left by `sweep` (ms): another
   * replica may be between committing an artifact and registering the version that refers to
   * it. 0 sweeps everything unreferenced.
   */
  sweepGraceMs: number;
}

const DEFAULTS: PostgresArtifactStoreOptions = { sweepGraceMs: 60 * 60 * 1000 };

/** Chunks read per query while streaming an artifact out. */
const CHUNKS_PER_READ = 4;

export class PostgresArtifactStore implements ArtifactStore {
  private constructor(
    private readonly _pool: PostgresPool,
    private readonly _cache: FolderArtifactStore,
    private readonly _options: PostgresArtifactStoreOptions
  ) {}

  /** The store on the service's pool (ended by its owner), with its local cache in `cacheDir`. */
  static async open(pool: PostgresPool, cacheDir: string, options: Partial<PostgresArtifactStoreOptions> = {}): Promise<PostgresArtifactStore> {
    await migratePostgres(pool, 'artifacts', MIGRATIONS);
    return new PostgresArtifactStore(pool, new FolderArtifactStore(cacheDir), { ...DEFAULTS, ...options });
  }

  async stage(files: ReadonlyMap<string, Uint8Array>): Promise<StagedArtifact> {
    const staged = await this._cache.stage(files);
    try {
      await transaction(this._pool, async (client) => {
        await client.query('INSERT INTO artifact_uploads (id, key, sha256, created_at) VALUES ($1, $2, $3, $4)', [uploadOf(staged), staged.key, staged.sha256, now()]);
        for (const [name, bytes] of files) {
          const { rows } = await client.query<{ id: number }>('INSERT INTO artifact_files (upload, name, size) VALUES ($1, $2, $3) RETURNING id', [
            uploadOf(staged),
            name,
            bytes.length
          ]);
          for (let seq = 0; seq * CHUNK_BYTES < bytes.length; seq++) {
            const chunk = Buffer.from(bytes.buffer, bytes.byteOffset + seq * CHUNK_BYTES, Math.min(CHUNK_BYTES, bytes.length - seq * CHUNK_BYTES));
            await client.query('INSERT INTO artifact_chunks (file, seq, bytes) VALUES ($1, $2, $3)', [rows[0]!.id, seq, chunk]);
          }
        }
      });
    } catch (error) {
      await this._cache.discard(staged);
      throw error;
    }
    return staged;
  }

  /** Makes the upload the artifact of its key (the first copy stays when it exists), and its staged folder the local copy. */
  async commit(staged: StagedArtifact): Promise<void> {
    await transaction(this._pool, async (client) => {
      const upload = await client.query('SELECT 1 FROM artifact_uploads WHERE id = $1 FOR UPDATE', [uploadOf(staged)]);
      if (upload.rowCount === 0) throw new Error(`staged artifact ${staged.key} is gone: it was discarded, or swept as abandoned`);
      const created = await client.query('INSERT INTO artifacts (key, sha256, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING', [
        staged.key,
        staged.sha256,
        now()
      ]);
      if (created.rowCount === 1) {
        await client.query('UPDATE artifact_files SET artifact = $1, upload = NULL WHERE upload = $2', [staged.key, uploadOf(staged)]);
      }
      // The files of a copy that was there first go with the upload.
      await client.query('DELETE FROM artifact_uploads WHERE id = $1', [uploadOf(staged)]);
    });
    await this._cache.commit(staged);
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await this._pool.query('DELETE FROM artifact_uploads WHERE id = $1', [uploadOf(staged)]);
    await this._cache.discard(staged);
  }

  /** Removes uploads and artifacts no version refers to (past the grace period), and the same from the local cache. */
  async sweep(keep: ReadonlySet<string>): Promise<string[]> {
    const before = new Date(Date.now() - this._options.sweepGraceMs).toISOString();
    const removed = await transaction(this._pool, async (client) => {
      const uploads = await client.query<{ id: string }>('DELETE FROM artifact_uploads WHERE created_at <= $1 RETURNING id', [before]);
      const artifacts = await client.query<{ key: string }>('DELETE FROM artifacts WHERE created_at <= $1 AND NOT (key = ANY($2)) RETURNING key', [before, [...keep]]);
      return [...uploads.rows.map((r) => r.id), ...artifacts.rows.map((r) => r.key)];
    });
    // An upload another replica on this state dir is staging now keeps its temporary folder, as its database rows.
    const local = await this._cache.sweep(keep, { temporaryGraceMs: this._options.sweepGraceMs });
    return [...new Set([...removed, ...local])];
  }

  /** The artifact's folder in the local cache, streamed from the database the first time. */
  async localFolder(key: string): Promise<string> {
    if (await this._cache.has(key)) return this._cache.localFolder(key);
    const { rows } = await this._pool.query<{ sha256: string }>('SELECT sha256 FROM artifacts WHERE key = $1', [key]);
    if (!rows[0]) throw new Error(`no artifact ${key} in the database`);
    const files = await this._pool.query<{ id: number; name: string; size: string }>('SELECT id, name, size FROM artifact_files WHERE artifact = $1 ORDER BY name', [key]);
    const temp = this._cache.temporaryFolder();
    await mkdir(temp);
    try {
      for (const file of files.rows) {
        const sha256 = await this._download(file, temp);
        if (file.name === MODEL_FILE && sha256 !== rows[0].sha256) {
          throw new Error(`artifact ${key} is damaged in the database: its ${MODEL_FILE} has sha256 ${sha256}, recorded ${rows[0].sha256}`);
        }
      }
    } catch (error) {
      await this._cache.discard({ key, sha256: rows[0].sha256, folder: temp });
      throw error;
    }
    await this._cache.commit({ key, sha256: rows[0].sha256, folder: temp });
    return this._cache.localFolder(key);
  }

  /** Writes one file's chunks in order into `folder`, flushed; returns the sha256 of its bytes. */
  private async _download(file: { id: number; name: string; size: string }, folder: string): Promise<string> {
    const target = path.resolve(folder, file.name);
    if (!target.startsWith(folder + path.sep)) throw new Error(`artifact file name "${file.name}" leaves the artifact's folder`);
    await mkdir(path.dirname(target), { recursive: true });
    const hash = createHash('sha256');
    const handle = await open(target, 'wx');
    let written = 0;
    try {
      for (let seq = 0; ; seq += CHUNKS_PER_READ) {
        const { rows } = await this._pool.query<{ bytes: Buffer }>('SELECT bytes FROM artifact_chunks WHERE file = $1 AND seq >= $2 ORDER BY seq LIMIT $3', [
          file.id,
          seq,
          CHUNKS_PER_READ
        ]);
        for (const { bytes } of rows) {
          await handle.write(bytes);
          hash.update(bytes);
          written += bytes.length;
        }
        if (rows.length < CHUNKS_PER_READ) break;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (written !== Number(file.size)) throw new Error(`artifact file "${file.name}" is damaged in the database: ${written} bytes of ${file.size}`);
    return hash.digest('hex');
  }
}

/** An upload is named as its temporary folder in the local cache (unique, and swept with it). */
function uploadOf(staged: StagedArtifact): string {
  return path.basename(staged.folder);
}

const now = (): string => new Date().toISOString();
