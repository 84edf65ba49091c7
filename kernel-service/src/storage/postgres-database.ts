/**
 * The service's PostgreSQL database, shared by replicas: one `pg.Pool` per process from a
 * `postgresql://` URL, shared by the registry, the user store and the artifact store, each with
 * its own tables. One migration runner (as sqlite-database.ts's) brings each component's tables to
 * its newest schema and records the version per component in `schema_versions`; it runs under a
 * transaction-scoped advisory lock, so that replicas starting together migrate once.
 * Changes that append to the audit log take the write lock (`writeTransaction`): the chain
 * needs one writer at a time, as SQLite's immediate transactions give the embedded backend.
 */
import pg from 'pg';
import { DatabaseUrlError, describeUrl } from './database-location.js';

export { DatabaseUrlError, describeUrl } from './database-location.js';

export type PostgresPool = pg.Pool;
export type PostgresClient = pg.PoolClient;
/** Where a read runs: the pool, or a transaction's client (which sees the transaction's own writes). */
export type PostgresQueryable = PostgresPool | PostgresClient;

/** A migration: SQL, or a function for what SQL cannot do alone; it runs inside the migration's transaction. */
export type PostgresMigration = string | ((client: PostgresClient) => Promise<void>);

// Advisory lock keys (any bigint; these spell "nbdmigr" and "nbdwrit" so that they are recognisable in pg_locks).
const MIGRATION_LOCK = 0x6e62646d696772n;
const WRITE_LOCK = 0x6e626477726974n;

/**
 * Opens a pool on the URL and checks one connection, so that a wrong URL fails at start with
 * what was wrong (bad URL, unreachable, authentication, no such database) rather than at the
 * first request.
 */
export async function openPostgres(url: string, options: { max?: number } = {}): Promise<PostgresPool> {
  const where = describeUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 10_000 });
  // An idle client whose connection drops (a server restart) must not crash the process: the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DatabaseUrlError(`cannot open PostgreSQL database ${where}: ${connectionProblem(error)}`);
  }
  return pool;
}

function connectionProblem(error: unknown): string {
  const e = error as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'nothing listens there (connection refused); is PostgreSQL running on that host and port?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host is unreachable';
    case '28P01':
    case '28000':
      return `authentication failed (${e.message ?? 'refused'})`;
    case '3D000':
      return `${e.message ?? 'the database does not exist'}; create it first (createdb)`;
    default:
      return e.message ?? String(error);
  }
}

/** Runs `fn` in a transaction on one client: committed when it resolves, rolled back when it throws. */
export async function transaction<T>(pool: PostgresPool, fn: (client: PostgresClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A transaction that holds the database's write lock: one at a time across every replica (audit appends chain on the newest entry). */
export function writeTransaction<T>(pool: PostgresPool, fn: (client: PostgresClient) => Promise<T>): Promise<T> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK.toString()]);
    return fn(client);
  });
}

/**
 * Runs the component's migrations that its recorded version has not seen, in order, in one
 * transaction under the migration lock: a replica that starts while another migrates waits,
 * then finds the work done.
 */
export async function migratePostgres(pool: PostgresPool, component: string, migrations: readonly PostgresMigration[]): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_versions WHERE component = $1', [component]);
    const version = rows[0]?.version ?? 0;
    if (version >= migrations.length) return;
    for (let i = version; i < migrations.length; i++) {
      const m = migrations[i]!;
      if (typeof m === 'string') await client.query(m);
      else await m(client);
    }
    await client.query(
      `INSERT INTO schema_versions (component, version) VALUES ($1, $2)
       ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
      [component, migrations.length]
    );
  });
}

/** A component's recorded schema version (0: never migrated). */
export async function schemaVersion(pool: PostgresPool, component: string): Promise<number> {
  const table = await pool.query<{ found: boolean }>("SELECT to_regclass('schema_versions') IS NOT NULL AS found");
  if (!table.rows[0]!.found) return 0;
  const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_versions WHERE component = $1', [component]);
  return rows[0]?.version ?? 0;
}
