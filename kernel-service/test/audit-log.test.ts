import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, entryHash, verifyAuditLog } from '../src/registry/audit-log.js';
import { REGISTRY_MIGRATIONS, SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { migrate, openDatabase } from '../src/storage/sqlite-database.js';

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-audit-')), 'registry.sqlite');

describe('the audit log hash chain', () => {
  it('should chain the entries an older build wrote when the database is migrated', async () => {
    const db = openDatabase(tempFile());
    // The registry's schema before the chain (its first four migrations), with entries in it.
    migrate(db, 'registry', REGISTRY_MIGRATIONS.slice(0, 4));
    const insert = db.prepare('INSERT INTO audit_log (at, actor, notebook, action, model, version, details) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('2026-01-01T00:00:00.000Z', 'ana', 'a.ipynb', 'register', 'churn', 1, '{"sha256":"x"}');
    insert.run('2026-01-02T00:00:00.000Z', 'api', null, 'promote', 'churn', 1, '{"override":"hotfix"}');
    const registry = new SqliteRegistry(db);
    await registry.appendAudit({ user: 'rui', cell: 'c1' }, 'review', 'churn', 1, { decision: 'approve' });

    const rows = db.prepare<[], { id: number; actor: string; cell: string | null; prev_hash: string; hash: string }>('SELECT * FROM audit_log ORDER BY id').all();
    expect(rows.map((r) => [r.id, r.actor, r.cell])).toEqual([
      [1, 'ana', null],
      [2, 'api', null],
      [3, 'rui', 'c1']
    ]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
    expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
    expect(rows[0]!.hash).toBe(entryHash({ ...rows[0]!, at: '2026-01-01T00:00:00.000Z', notebook: 'a.ipynb', action: 'register', model: 'churn', version: 1, details: '{"sha256":"x"}' }, GENESIS_HASH));
    expect(verifyAuditLog(db)).toEqual({ ok: true, entries: 3, head: rows[2]!.hash });
    // Still append-only.
    expect(() => db.exec("UPDATE audit_log SET actor = 'x' WHERE id = 1")).toThrow(/append-only/);
    expect(() => db.exec('DELETE FROM audit_log WHERE id = 1')).toThrow(/append-only/);
    db.close();
  });

  it('should call an empty log intact', async () => {
    const db = openDatabase(tempFile());
    new SqliteRegistry(db);
    expect(verifyAuditLog(db)).toEqual({ ok: true, entries: 0, head: null });
    db.close();
  });
});
