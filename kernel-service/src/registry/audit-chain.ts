/**
 * The audit log's hash chain, whatever the backend stores it in (audit-log.ts on SQLite,
 * postgres-audit-log.ts on PostgreSQL): how an entry is hashed, and the check that walks the
 * rows in id order, one at a time (a long log is never read whole), and names the first entry
 * that was changed or is missing.
 */
import { createHash } from 'node:crypto';
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

/** What `audit verify` found: the chain intact, or the first entry changed or missing. */
export type AuditVerdict =
  | { ok: true; entries: number; head: string | null }
  | { ok: false; entries: number; problem: 'changed' | 'missing'; entry: number; reason: string };

/** The next entry of the chain, numbered after `lastId` and linked to `prevHash` (the head's). */
export function chainedEntry(
  last: { id: number; hash: string } | undefined,
  actor: Actor,
  action: string,
  model: string | null,
  version: number | null,
  details: Record<string, unknown>
): AuditRow & { prev_hash: string; hash: string } {
  const row = {
    id: (last?.id ?? 0) + 1,
    at: new Date().toISOString(),
    actor: actor.user,
    notebook: actor.notebook ?? null,
    cell: actor.cell ?? null,
    action,
    model,
    version,
    details: JSON.stringify(details)
  };
  const prev = last?.hash ?? GENESIS_HASH;
  return { ...row, prev_hash: prev, hash: entryHash(row, prev) };
}

/** Walks a chain: rows are added in id order, then `end` compares the recorded head. */
export class AuditChainCheck {
  /** Checks the next row (in id order); returns the verdict at the first break, else undefined. */
  add(row: AuditRow): AuditVerdict | undefined {
    const prev = this._prev;
    if (row.prev_hash !== prev) {
      // A link that does not match: entries before this one were removed, or the link itself was edited.
      if (row.id > this._prevId + 1) {
        return this._broken('missing', this._prevId + 1, `entry ${this._prevId + 1} is missing: entry ${row.id} follows entry ${this._prevId || 'none'} but was chained to another entry`);
      }
      return this._broken('changed', row.id, `entry ${row.id} was changed: its link to entry ${this._prevId} does not match that entry's hash`);
    }
    if (row.hash !== entryHash(row, prev)) {
      return this._broken('changed', row.id, `entry ${row.id} was changed: its fields do not match its hash`);
    }
    this._prev = row.hash;
    this._prevId = row.id;
    this._count++;
    return undefined;
  }

  /** The verdict once every row was added: the recorded head must be the last entry seen. */
  end(head: { id: number; hash: string } | undefined): AuditVerdict {
    const prevId = this._prevId;
    if (head && head.id > prevId) {
      return this._broken('missing', prevId + 1, `entry ${prevId + 1} is missing: the log ended at entry ${head.id}, and the last entry left is ${prevId || 'none'}`);
    }
    if (head && head.hash !== this._prev) {
      return this._broken('changed', head.id, `entry ${head.id} was changed: the log's recorded last hash does not match it`);
    }
    return { ok: true, entries: this._count, head: this._count > 0 ? this._prev : null };
  }

  private _broken(problem: 'changed' | 'missing', entry: number, reason: string): AuditVerdict {
    return { ok: false, entries: this._count, problem, entry, reason };
  }

  private _prev = GENESIS_HASH;
  private _prevId = 0;
  private _count = 0;
}
