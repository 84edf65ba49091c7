/**
 * The audit log on SQLite: append-only (triggers refuse UPDATE and DELETE) and a hash chain.
 * Each entry stores the hash of the entry before it (`prev_hash`) and its own `hash`, the
 * sha256 of `prev_hash` and a canonical serialisation of its fields; `audit_head` keeps the
 * newest entry's id and hash, so that removing the newest entries shows too.
 * `verifyAuditLog` (`nbdeploy audit verify`) walks the chain and names the first entry that
 * was changed or is missing. Appends run in an immediate transaction: the service and the
 * `nbdeploy users` command may append to the same file at once.
 */
import type { SqliteDatabase } from '../storage/sqlite-database.js';
import { AuditChainCheck, type AuditRow, type AuditVerdict, GENESIS_HASH, chainedEntry, entryHash } from './audit-chain.js';
import type { Actor, AuditEntry } from './registry.js';

export { GENESIS_HASH, entryHash, type AuditRow, type AuditVerdict } from './audit-chain.js';

/** The migration that adds the chain: new columns, existing entries chained in id order, the head. */
export function chainAuditLog(db: SqliteDatabase): void {
  db.exec(`ALTER TABLE audit_log ADD COLUMN cell TEXT;
    ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
    ALTER TABLE audit_log ADD COLUMN hash TEXT;
    CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), id INTEGER NOT NULL, hash TEXT NOT NULL);
    DROP TRIGGER audit_log_no_update;`);
  const update = db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?');
  let prev = GENESIS_HASH;
  let last: { id: number; hash: string } | null = null;
  // All read first: a connection cannot write while it iterates.
  for (const row of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY id').all()) {
    const hash = entryHash(row, prev);
    update.run(prev, hash, row.id);
    last = { id: row.id, hash };
    prev = hash;
  }
  if (last) db.prepare('INSERT INTO audit_head (one, id, hash) VALUES (1, ?, ?)').run(last.id, last.hash);
  db.exec(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`);
}

export class SqliteAuditLog {
  constructor(private readonly _db: SqliteDatabase) {}

  /** Appends an entry linked to the newest one (inside the caller's transaction, if any). */
  append(actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): void {
    this._db.transaction(() => {
      const head = this._db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit_head').get();
      const newest = this._db.prepare<[], { id: number }>('SELECT MAX(id) AS id FROM audit_log').get();
      const entry = chainedEntry({ id: Math.max(head?.id ?? 0, newest?.id ?? 0), hash: head?.hash ?? GENESIS_HASH }, actor, action, model, version, details);
      this._db
        .prepare(
          `INSERT INTO audit_log (id, at, actor, notebook, cell, action, model, version, details, prev_hash, hash)
           VALUES (@id, @at, @actor, @notebook, @cell, @action, @model, @version, @details, @prev_hash, @hash)`
        )
        .run(entry);
      this._db.prepare('INSERT INTO audit_head (one, id, hash) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET id = excluded.id, hash = excluded.hash').run(entry.id, entry.hash);
    }).immediate();
  }

  /** The newest entry's id (0 for none): it moves with every change, whichever process made it. */
  head(): number {
    return this._db.prepare<[], { id: number }>('SELECT id FROM audit_head').get()?.id ?? 0;
  }

  /** Newest first, of one model or all. */
  entries(filter: { model?: string; limit?: number }): AuditEntry[] {
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 10_000);
    const columns = 'id, at, actor, notebook, cell, action, model, version, details';
    const rows = filter.model
      ? this._db.prepare<[string, number], AuditRow>(`SELECT ${columns} FROM audit_log WHERE model = ? ORDER BY id DESC LIMIT ?`).all(filter.model, limit)
      : this._db.prepare<[number], AuditRow>(`SELECT ${columns} FROM audit_log ORDER BY id DESC LIMIT ?`).all(limit);
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      notebook: r.notebook,
      cell: r.cell,
      action: r.action,
      model: r.model,
      version: r.version,
      details: JSON.parse(r.details) as Record<string, unknown>
    }));
  }
}

/** Walks the chain from the first entry; stops at the first break. */
export function verifyAuditLog(db: SqliteDatabase): AuditVerdict {
  const check = new AuditChainCheck();
  for (const row of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY id').iterate()) {
    const broken = check.add(row);
    if (broken) return broken;
  }
  return check.end(db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit_head').get());
}
