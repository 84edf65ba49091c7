/**
 * LISTEN/NOTIFY between replicas: a change through one registry (which appends to the audit
 * log) is heard by a listener on the same database, and only once committed; a listener whose
 * connection the server ends opens it again, says so, and is told to look at once (what was
 * notified meanwhile is lost), then hears changes as before.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { PostgresRegistry } from '../src/registry/postgres-registry.js';
import type { NewVersion } from '../src/registry/registry.js';
import { CHANGES_CHANNEL, LISTENER_APPLICATION_NAME, PostgresChangeListener } from '../src/storage/postgres-changes.js';
import { type PostgresPool, openPostgres, writeTransaction } from '../src/storage/postgres-database.js';

const postgres = usePostgres();

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function newVersion(sha: string): NewVersion {
  return {
    model: 'iris',
    sha256: sha,
    artifact: sha,
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [], batchable: true },
    metadata: {},
    batching: { maxBatchSize: 64, maxQueueDelayMicros: 0, instances: 1, maxQueueSize: 1024 }
  };
}

describe('PostgresChangeListener', () => {
  let url: string;
  let pool: PostgresPool;
  let registry: PostgresRegistry;
  let listener: PostgresChangeListener | undefined;
  let heard: number;
  const logged: string[] = [];

  beforeEach(async () => {
    url = await postgres().freshDatabase();
    pool = await openPostgres(url);
    registry = await PostgresRegistry.open(pool);
    heard = 0;
    logged.length = 0;
  });
  afterEach(async () => {
    await listener?.close();
    await pool.end();
  });

  it('should hear a change made through another registry once it commits', async () => {
    listener = await PostgresChangeListener.start(url, () => heard++, (m) => logged.push(m));
    await registry.registerVersion(newVersion('aaa'), { user: 'ana' });
    await until('the change heard', () => heard === 1);
    // A notification in a transaction rolled back reaches nobody.
    await expect(
      writeTransaction(pool, async (client) => {
        await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'x']);
        throw new Error('rolled back');
      })
    ).rejects.toThrow('rolled back');
    await registry.registerVersion(newVersion('bbb'), { user: 'ana' });
    await until('the second change heard', () => heard >= 2);
    expect(heard).toBe(2);
  });

  it('should open its connection again when the server ends it, and look at once', async () => {
    listener = await PostgresChangeListener.start(url, () => heard++, (m) => logged.push(m), { retryMs: 50 });
    const { rows } = await pool.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1', [
      LISTENER_APPLICATION_NAME
    ]);
    expect(rows.map((r) => r.ended)).toEqual([true]);
    await until('listening again', () => logged.some((m) => m.includes('listening for other replicas\' changes again')));
    expect(logged[0]).toMatch(/lost the connection that listens for other replicas' changes/);
    expect(heard).toBe(1);
    expect(listener.listening).toBe(true);
    await registry.registerVersion(newVersion('ccc'), { user: 'ana' });
    await until('a change heard after the reconnect', () => heard === 2);
  });

  it('should fail at start naming a server that does not answer', async () => {
    await expect(PostgresChangeListener.start('postgresql://nbd:pw@127.0.0.1:1/nbd', () => undefined, () => undefined)).rejects.toThrow(
      'cannot listen for changes on postgresql://nbd:***@127.0.0.1:1/nbd'
    );
  });
});
