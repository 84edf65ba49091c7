/**
 * The PostgreSQL pool and migration runner, on the file's throwaway server: a URL that cannot
 * be used fails with what was wrong (never the password), and replicas starting together
 * migrate once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { type AuditVerdict } from '../src/registry/audit-chain.js';
import { verifyPostgresAuditLog } from '../src/registry/postgres-audit-log.js';
import { PostgresRegistry } from '../src/registry/postgres-registry.js';
import { type PostgresPool, describeUrl, migratePostgres, openPostgres, schemaVersion } from '../src/storage/postgres-database.js';

const postgres = usePostgres();

describe('openPostgres', () => {
  it('should name what is wrong with a URL, without its password', async () => {
    await expect(openPostgres('not a url')).rejects.toThrowError('the database URL is not a URL: expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE');
    await expect(openPostgres('mysql://u:secret@db/x')).rejects.toThrowError('the database URL must start with postgresql:// (it starts with mysql://)');
    await expect(openPostgres('postgresql://u:secret@db.example')).rejects.toThrowError('the database URL postgresql://u:***@db.example names no database (…/DATABASE at its end)');
    expect(describeUrl('postgresql://u:secret@db.example:5433/nbd')).toBe('postgresql://u:***@db.example:5433/nbd');
  });

  it('should say when nothing listens at the address', async () => {
    const port = postgres().port;
    // The server's own port, on an address it does not listen on (it listens on 127.0.0.1 only).
    const error = await openPostgres(`postgresql://u:secret@127.0.0.2:${port}/nbd`).catch((e: Error) => e);
    expect(String(error)).toMatch(/cannot open PostgreSQL database postgresql:\/\/u:\*\*\*@127\.0\.0\.2:\d+\/nbd: nothing listens there/);
    expect(String(error)).not.toContain('secret');
  });

  it('should say when the database does not exist', async () => {
    await expect(openPostgres(`postgresql://postgres@127.0.0.1:${postgres().port}/no_such_db`)).rejects.toThrowError(/database "no_such_db" does not exist; create it first/);
  });
});

describe('migratePostgres', () => {
  const pools: PostgresPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });
  const replica = async (url: string) => {
    const pool = await openPostgres(url);
    pools.push(pool);
    return pool;
  };

  it('should migrate once when replicas start together, and record the version', async () => {
    const url = await postgres().freshDatabase();
    const replicas = await Promise.all([1, 2, 3].map(() => replica(url)));
    const migrations = ['CREATE TABLE runs (n INTEGER)', 'INSERT INTO runs VALUES (1)', 'ALTER TABLE runs ADD COLUMN at TEXT'];
    await Promise.all(replicas.map((pool) => migratePostgres(pool, 'test', migrations)));
    expect((await replicas[0]!.query('SELECT n FROM runs')).rows).toEqual([{ n: 1 }]);
    expect(await schemaVersion(replicas[1]!, 'test')).toBe(3);
    // A newer build adds a migration: only it runs.
    await migratePostgres(replicas[2]!, 'test', [...migrations, 'INSERT INTO runs VALUES (2)']);
    expect((await replicas[0]!.query('SELECT n FROM runs ORDER BY n')).rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await schemaVersion(replicas[0]!, 'test')).toBe(4);
    expect(await schemaVersion(replicas[0]!, 'never')).toBe(0);
  });

  it('should leave nothing of a migration that fails', async () => {
    const pool = await replica(await postgres().freshDatabase());
    expect(await schemaVersion(pool, 'test')).toBe(0);
    await expect(migratePostgres(pool, 'test', ['CREATE TABLE a (n INTEGER)', 'CREATE TABLE broken ('])).rejects.toThrow(/syntax error/);
    expect((await pool.query("SELECT to_regclass('a') AS a")).rows).toEqual([{ a: null }]);
    expect(await schemaVersion(pool, 'test')).toBe(0);
  });

  it('should chain audit entries from replicas writing at once, and find an entry changed or removed by the database owner', async () => {
    const url = await postgres().freshDatabase();
    const [a, b] = [await PostgresRegistry.open(await replica(url)), await PostgresRegistry.open(await replica(url))];
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).appendAudit({ user: `u${i}` }, 'note', null, null, { i })));
    const pool = pools[0]!;
    expect(await verifyPostgresAuditLog(pool)).toMatchObject({ ok: true, entries: 20 });
    // Only the owner can switch the trigger off; the chain still shows what was done.
    await pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change');
    await pool.query("UPDATE audit_log SET actor = 'mallory' WHERE id = 7");
    expect(await verifyPostgresAuditLog(pool)).toEqual<AuditVerdict>({ ok: false, entries: 6, problem: 'changed', entry: 7, reason: 'entry 7 was changed: its fields do not match its hash' });
    await pool.query('DELETE FROM audit_log WHERE id >= 7');
    expect(await verifyPostgresAuditLog(pool)).toMatchObject({ ok: false, problem: 'missing', entry: 7 });
    await expect(pool.query('TRUNCATE audit_log')).rejects.toThrowError(/append-only/);
  });
});
