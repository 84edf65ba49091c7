/**
 * The audit log on PostgreSQL: the same hash chain as on SQLite (audit-chain.ts), in its own
 * migration component ("audit") because the registry and the user store both append to it.
 * Append-only in the database itself: a trigger refuses UPDATE, DELETE and TRUNCATE. Appends
 * run inside the caller's write transaction (postgres-database.ts), which holds the one write
 * lock of all replicas, so two replicas never chain onto the same head. Each append notifies
 * the other replicas of the change (postgres-changes.ts), delivered when it commits.
 */
import { type PostgresClient, type PostgresMigration, type PostgresPool, migratePostgres } from '../storage/postgres-database.js';
import { CHANGES_CHANNEL } from '../storage/postgres-changes.js';
import { AuditChainCheck, type AuditRow, type AuditVerdict, chainedEntry } from './audit-chain.js';
import type { Actor, AuditEntry } from './registry.js';

const AUDIT_MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     notebook TEXT,
     cell TEXT,
     action TEXT NOT NULL,
     model TEXT,
     version INTEGER,
     details TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_by_model ON audit_log(model, id);
   CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), id INTEGER NOT NULL, hash TEXT NOT NULL);
   CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
   CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
   CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();`
];

const ENTRY_COLUMNS = 'id, at, actor, notebook, cell, action, model, version, details';

export class PostgresAuditLog {
  private constructor(private readonly _pool: PostgresPool) {}

  /** The log on the pool's database, its tables migrated. */
  static async open(pool: PostgresPool): Promise<PostgresAuditLog> {
    await migratePostgres(pool, 'audit', AUDIT_MIGRATIONS);
    return new PostgresAuditLog(pool);
  }

  /** Appends an entry linked to the newest one, on the client of a write transaction. */
  async append(client: PostgresClient, actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): Promise<void> {
    const head = await client.query<{ id: number; hash: string }>('SELECT id, hash FROM audit_head');
    const row = chainedEntry(head.rows[0], actor, action, model, version, details);
    await client.query(
      `INSERT INTO audit_log (id, at, actor, notebook, cell, action, model, version, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [row.id, row.at, row.actor, row.notebook, row.cell, row.action, row.model, row.version, row.details, row.prev_hash, row.hash]
    );
    await client.query(
      'INSERT INTO audit_head (one, id, hash) VALUES (1, $1, $2) ON CONFLICT (one) DO UPDATE SET id = excluded.id, hash = excluded.hash',
      [row.id, row.hash]
    );
    // Replicas listening hear of the change when this transaction commits (postgres-changes.ts).
    await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, String(row.id)]);
  }

  /** Newest first, of one model or all. */
  async entries(filter: { model?: string; limit?: number }): Promise<AuditEntry[]> {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 10_000);
    const { rows } = filter.model
      ? await this._pool.query<AuditRow>(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE model = $1 ORDER BY id DESC LIMIT $2`, [filter.model, limit])
      : await this._pool.query<AuditRow>(`SELECT ${ENTRY_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  }
}

/** Rows read per query while verifying: a long log is walked in pages, never read whole. */
const VERIFY_PAGE = 1000;

/** Walks the chain from the first entry (`nbdeploy audit verify` on PostgreSQL); stops at the first break. */
export async function verifyPostgresAuditLog(pool: PostgresPool): Promise<AuditVerdict> {
  const check = new AuditChainCheck();
  // One snapshot for the walk and the head: appends by a running service do not show as breaks.
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let after = 0;
    for (;;) {
      const { rows } = await client.query<AuditRow>('SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2', [after, VERIFY_PAGE]);
      for (const row of rows) {
        const broken = check.add(row);
        if (broken) return broken;
      }
      if (rows.length < VERIFY_PAGE) break;
      after = rows.at(-1)!.id;
    }
    const head = await client.query<{ id: number; hash: string }>('SELECT id, hash FROM audit_head');
    return check.end(head.rows[0]);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}
