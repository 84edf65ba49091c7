/**
 * Moving a service's state from its SQLite state dir into an empty PostgreSQL database
 * (`nbdeploy migrate`): the registry (models, versions, deployments, production history,
 * feedback, validations, reviews), the audit log with its hash chain as it is, users and
 * tokens, alert rules, webhooks and history, replays, and the artifacts. The source's audit
 * chain is verified first (a broken one is not copied) and the target's after, entry for entry
 * the same head. The rows go in one transaction, so a failure leaves the target as it was
 * (with its tables created); artifacts are copied first, each checked against its key.
 * Monitoring windows and the predictions log stay behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteAlertStore } from '../monitoring/alert-store.js';
import { PostgresAlertStore } from '../monitoring/postgres-alert-store.js';
import { PostgresUserStore } from '../people/postgres-user-store.js';
import { SqliteUserStore } from '../people/sqlite-user-store.js';
import { FolderArtifactStore } from '../registry/artifact-store.js';
import { verifyAuditLog } from '../registry/audit-log.js';
import type { AuditVerdict } from '../registry/audit-chain.js';
import { PostgresArtifactStore } from '../registry/postgres-artifact-store.js';
import { verifyPostgresAuditLog } from '../registry/postgres-audit-log.js';
import { PostgresRegistry } from '../registry/postgres-registry.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { PostgresReplayStore } from '../replay/postgres-replay-store.js';
import { SqliteReplayStore } from '../replay/replay-store.js';
import { StateLock } from '../state-lock.js';
import { type PostgresClient, type PostgresPool, openPostgres, writeTransaction } from './postgres-database.js';
import { ARTIFACTS_DIR } from './service-storage.js';
import { DATABASE_FILE, type SqliteDatabase, openDatabase } from './sqlite-database.js';

/** The tables copied, in an order their foreign keys accept. */
export const MIGRATED_TABLES = [
  'models',
  'versions',
  'deployments',
  'production_history',
  'feedback',
  'validations',
  'reviews',
  'audit_log',
  'audit_head',
  'users',
  'tokens',
  'alert_rules',
  'alert_webhooks',
  'alerts',
  'replays'
] as const;

/** Rows the target's migrations put there themselves (the service user), replaced by the source's. */
const SEEDED_TABLES = new Set(['users']);

export interface MigrationResult {
  /** Rows copied per table. */
  rows: Record<string, number>;
  /** Artifacts copied. */
  artifacts: number;
  /** The audit log as verified in the target. */
  audit: AuditVerdict & { ok: true };
}

/** Something in the source or the target stops the migration: what, and what to do. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Copies the state dir's state into the empty database at `url`. No service may run on the state dir meanwhile. */
export async function migrateState(stateDir: string, url: string): Promise<MigrationResult> {
  const file = path.join(stateDir, DATABASE_FILE);
  if (!existsSync(file)) throw new MigrationError(`no nbdeploy database in ${stateDir} (${DATABASE_FILE}): give the state dir a service used with --from`);
  // No service writes the state dir while it is copied (a running one holds the lock: stop it first).
  const lock = StateLock.acquire(stateDir);
  const db = openDatabase(file);
  let pool: PostgresPool | undefined;
  const cache = mkdtempSync(path.join(tmpdir(), 'nbdeploy-migrate-'));
  try {
    // Migrated as the service would migrate them, so the tables are those of this build.
    const registry = new SqliteRegistry(db);
    new SqliteUserStore(db);
    new SqliteReplayStore(db);
    new SqliteAlertStore(db);
    const source = verifyAuditLog(db);
    if (!source.ok) throw new MigrationError(`the audit log in ${stateDir} is broken (${source.reason}); nothing was copied`);

    pool = await openPostgres(url);
    await requireEmpty(pool);
    await PostgresRegistry.open(pool);
    await PostgresUserStore.open(pool);
    await PostgresReplayStore.open(pool);
    await PostgresAlertStore.open(pool);
    const artifacts = await PostgresArtifactStore.open(pool, cache);

    const keys = await registry.artifactKeys();
    const folders = new FolderArtifactStore(path.join(stateDir, ARTIFACTS_DIR));
    for (const key of keys) await copyArtifact(key, folders, artifacts);

    const rows = await writeTransaction(pool, async (client) => {
      const copied: Record<string, number> = {};
      for (const table of MIGRATED_TABLES) copied[table] = await copyTable(db, client, table);
      return copied;
    });

    const target = await verifyPostgresAuditLog(pool);
    if (!target.ok || target.entries !== source.entries || target.head !== source.head) {
      throw new MigrationError(`the audit log copied does not verify as the source's (${JSON.stringify(target)} against ${source.entries} entries, head ${source.head})`);
    }
    return { rows, artifacts: keys.size, audit: target };
  } finally {
    await pool?.end();
    db.close();
    lock.release();
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Refuses a target with tables in it: a migration goes into a database of its own (createdb). */
async function requireEmpty(pool: PostgresPool): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name LIMIT 6"
  );
  if (rows.length > 0) {
    const names = rows.slice(0, 5).map((r) => r.name);
    throw new MigrationError(
      `the target database is not empty (it has the tables ${names.join(', ')}${rows.length > 5 ? ', …' : ''}); migrate into a new, empty database (createdb NAME)`
    );
  }
}

/** One artifact's files from the state dir, into the database under the same key. */
async function copyArtifact(key: string, from: FolderArtifactStore, to: PostgresArtifactStore): Promise<void> {
  let folder: string;
  try {
    folder = await from.localFolder(key);
  } catch {
    throw new MigrationError(`artifact ${key}, which a version refers to, is missing from ${ARTIFACTS_DIR}/; nothing was copied but artifacts`);
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(folder, full).split(path.sep).join('/'), await readFile(full));
  }
  const staged = await to.stage(files);
  if (staged.key !== key) {
    await to.discard(staged);
    throw new MigrationError(`artifact ${key} in ${folder} is damaged: its files hash to ${staged.key}`);
  }
  await to.commit(staged);
}

/** Copies one table's rows with the target's columns (0/1 become booleans where the target has BOOLEAN); the number of rows. */
async function copyTable(db: SqliteDatabase, client: PostgresClient, table: string): Promise<number> {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
  if (!exists) return 0;
  const { rows: columns } = await client.query<{ name: string; type: string; identity: string }>(
    `SELECT column_name AS name, data_type AS type, is_identity AS identity FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table]
  );
  const targetNames = new Set(columns.map((c) => c.name));
  const sourceNames = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
  const lost = sourceNames.filter((n) => !targetNames.has(n));
  if (lost.length > 0) throw new MigrationError(`table ${table} has columns the database does not (${lost.join(', ')}): is this build older than the state dir's?`);
  const copied = columns.filter((c) => sourceNames.includes(c.name));
  if (SEEDED_TABLES.has(table)) await client.query(`DELETE FROM ${table}`);
  const names = copied.map((c) => `"${c.name}"`).join(', ');
  const placeholders = copied.map((_, i) => `$${i + 1}`).join(', ');
  const overriding = copied.some((c) => c.identity === 'YES') ? ' OVERRIDING SYSTEM VALUE' : '';
  const insert = `INSERT INTO ${table} (${names})${overriding} VALUES (${placeholders})`;
  let count = 0;
  for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).iterate() as Iterable<Record<string, unknown>>) {
    const values = copied.map((c) => {
      const value = row[c.name];
      return c.type === 'boolean' && value !== null ? Boolean(value) : value;
    });
    await client.query(insert, values);
    count++;
  }
  // Identity columns continue after the rows copied.
  for (const c of copied.filter((col) => col.identity === 'YES')) {
    await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(MAX("${c.name}"), 1), MAX("${c.name}") IS NOT NULL) FROM ${table}`, [table, c.name]);
  }
  return count;
}
