/**
 * The audit log on SQLite: append-only (triggers refuse UPDATE and DELETE) and a hash chain.
 * Each entry stores the hash of the entry before it (`prev_hash`) and its own `hash`, the
 * sha256 of `prev_hash` and a canonical serialisation of its fields; `audit_head` keeps the
 * newest entry's id and hash, so that removing the newest entries shows too.
 * `verifyAuditLog` (`nbdeploy audit verify`) walks the chain and names the first entry that
 * was changed or is missing. Appends run in an immediate transaction: the service and the
 * `nbdeploy users` command may append to the same file at once.
 */
import { createHash } from 'node:crypto';
import type { SqliteDatabase } from '../storage/sqlite-database.js';
import type { Actor, AuditEntry } from './registry.js';

/** The `prev_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** An audit_log row as stored (details as its JSON text). */
export type AuditRow = Omit<AuditEntry, 'details'> & { details: string; prev_hash: string | null; hash: string | null };

/** sha256 over the previous hash and the entry's fields in a fixed order (details as stored). */
export function entryHash(row: Omit<AuditRow, 'prev_hash' | 'hash'>, prevHash: string): string {
  const fields = [row.id, row.at, row.actor, row.notebook, row.cell, row.action, row.model, row.version, row.details];
  return createHash('sha256').update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

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
      const id = Math.max(head?.id ?? 0, newest?.id ?? 0) + 1;
      const row = {
        id,
        at: new Date().toISOString(),
        actor: actor.user,
        notebook: actor.notebook ?? null,
        cell: actor.cell ?? null,
        action,
        model,
        version,
        details: JSON.stringify(details)
      };
      const prev = head?.hash ?? GENESIS_HASH;
      const hash = entryHash(row, prev);
      this._db
        .prepare(
          `INSERT INTO audit_log (id, at, actor, notebook, cell, action, model, version, details, prev_hash, hash)
           VALUES (@id, @at, @actor, @notebook, @cell, @action, @model, @version, @details, @prev, @hash)`
        )
        .run({ ...row, prev, hash });
      this._db.prepare('INSERT INTO audit_head (one, id, hash) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET id = excluded.id, hash = excluded.hash').run(id, hash);
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

/** What `audit verify` found: the chain intact, or the first entry changed or missing. */
export type AuditVerdict =
  | { ok: true; entries: number; head: string | null }
  | { ok: false; entries: number; problem: 'changed' | 'missing'; entry: number; reason: string };

/** Walks the chain from the first entry; stops at the first break. */
export function verifyAuditLog(db: SqliteDatabase): AuditVerdict {
  let prev = GENESIS_HASH;
  let prevId = 0;
  let count = 0;
  const broken = (problem: 'changed' | 'missing', entry: number, reason: string): AuditVerdict => ({ ok: false, entries: count, problem, entry, reason });
  for (const row of db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY id').iterate()) {
    if (row.prev_hash !== prev) {
      // A link that does not match: entries before this one were removed, or the link itself was edited.
      if (row.id > prevId + 1) {
        return broken('missing', prevId + 1, `entry ${prevId + 1} is missing: entry ${row.id} follows entry ${prevId || 'none'} but was chained to another entry`);
      }
      return broken('changed', row.id, `entry ${row.id} was changed: its link to entry ${prevId} does not match that entry's hash`);
    }
    if (row.hash !== entryHash(row, prev)) {
      return broken('changed', row.id, `entry ${row.id} was changed: its fields do not match its hash`);
    }
    prev = row.hash;
    prevId = row.id;
    count++;
  }
  const head = db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit_head').get();
  if (head && head.id > prevId) {
    return broken('missing', prevId + 1, `entry ${prevId + 1} is missing: the log ended at entry ${head.id}, and the last entry left is ${prevId || 'none'}`);
  }
  if (head && head.hash !== prev) {
    return broken('changed', head.id, `entry ${head.id} was changed: the log's recorded last hash does not match it`);
  }
  return { ok: true, entries: count, head: count > 0 ? prev : null };
}
