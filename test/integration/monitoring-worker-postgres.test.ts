/**
 * The monitoring worker on PostgreSQL: the built `Monitor` given a `postgresql://` location opens
 * its own pool, observes inferences, answers `status`, joins ground truth to the predictions it
 * logged there, and at close writes its open windows to the database, where a monitor started
 * afterwards (another replica, or the next process) finds them.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../support/postgres.js';
import { ROOT } from '../support/service.js';

const postgres = usePostgres();
const lib = (p: string) => import(path.join(ROOT, 'lib', 'kernel-service', p));

const pools: Array<{ end(): Promise<void> }> = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.end();
});

/** A registered version of model `m`: input x FP32 [N, 1], output `label` INT32 [N] (a classifier). */
async function databaseWithModel(): Promise<string> {
  const url = await postgres().freshDatabase();
  const { openPostgres } = await lib('storage/postgres-database.js');
  const { PostgresRegistry } = await lib('registry/postgres-registry.js');
  const pool = await openPostgres(url);
  pools.push(pool);
  const registry = await PostgresRegistry.open(pool);
  await registry.registerVersion(
    {
      model: 'm',
      sha256: 'aaa',
      artifact: 'aaa',
      signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'label', datatype: 'INT32', shape: [-1] }], batchable: true },
      metadata: {},
      batching: { maxBatchSize: 64, maxQueueDelayMicros: 0, instances: 1, maxQueueSize: 1024 }
    },
    { user: 'ana' }
  );
  return url;
}

describe('the monitoring worker on PostgreSQL', () => {
  it('should observe inferences, answer status, join ground truth, and leave its windows in the database', async () => {
    const url = await databaseWithModel();
    const { Monitor } = await lib('monitoring/monitor.js');
    const logged: string[] = [];
    const options = { windowSeconds: 60, log: (m: string) => logged.push(m) };
    const monitor = new Monitor({ kind: 'postgresql', url }, options);
    const observe = (requestId: string, x: number, label: number) =>
      monitor.observe({
        model: 'm',
        version: 1,
        requestId,
        shadow: false,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.from([x]) }],
        outputs: [{ name: 'label', datatype: 'INT32', shape: [1], data: Int32Array.from([label]) }],
        error: null,
        latencyMs: 2,
        at: Date.now()
      });
    try {
      for (let i = 0; i < 10; i++) observe(`r${i}`, i, i % 2);
      const status = await monitor.status('m', 300);
      expect(status.ops).toMatchObject({ requests: 10, rows: 10 });
      // Ground truth right after: the five odd ones right, the five even ones wrong.
      const joined = await monitor.feedback(
        'm',
        Array.from({ length: 10 }, (_, i) => ({ requestId: `r${i}`, groundTruth: 1 }))
      );
      expect(joined).toBe(10);
      expect(await monitor.feedback('m', [{ requestId: 'r0', groundTruth: 1 }])).toBe(0);
      expect((await monitor.status('m', 300)).performance).toMatchObject({ labelled: 10 });
    } finally {
      await monitor.close();
    }
    expect(logged.filter((m) => /fail|cannot/.test(m))).toEqual([]);

    // Written at close: another monitor on the database counts them.
    const again = new Monitor({ kind: 'postgresql', url }, options);
    try {
      const status = await again.status('m', 300);
      expect(status.ops).toMatchObject({ requests: 10, rows: 10 });
      expect(status.performance).toMatchObject({ labelled: 10 });
    } finally {
      await again.close();
    }
  });

  it('should say in the log when it cannot open the database, and keep trying', async () => {
    const { Monitor } = await lib('monitoring/monitor.js');
    const logged: string[] = [];
    const url = `postgresql://postgres@127.0.0.1:${postgres().port}/no_such_database`;
    const monitor = new Monitor({ kind: 'postgresql', url }, { windowSeconds: 60, log: (m: string) => logged.push(m) });
    try {
      while (!logged.some((m) => m.includes('the monitoring worker stopped'))) await new Promise((r) => setTimeout(r, 50));
      expect(logged.find((m) => m.includes('the monitoring worker failed'))).toMatch(/cannot open PostgreSQL database .*no_such_database.*createdb/);
      expect(logged.find((m) => m.includes('the monitoring worker stopped'))).toMatch(/restarting it in 1000 ms/);
    } finally {
      await monitor.close();
    }
  });
});
