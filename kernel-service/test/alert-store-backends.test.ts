/**
 * The alert store on both backends: the same cases against SQLite (a file of its own) and
 * PostgreSQL (a fresh database each, on the file's throwaway server). The lead: one of two
 * stores on one database leads; the other takes over when the first gives it up, or when the
 * first's connection dies (a replica killed) on PostgreSQL, or its lease runs out on SQLite.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import type { AlertRule } from '../src/monitoring/alert-rules.js';
import { type AlertStore, type NewAlert, SqliteAlertStore } from '../src/monitoring/alert-store.js';
import { ALERT_LEAD_LOCK, PostgresAlertStore } from '../src/monitoring/postgres-alert-store.js';
import { type PostgresPool, openPostgres } from '../src/storage/postgres-database.js';

const postgres = usePostgres();

/** Two stores on one fresh database (as two replicas have), and how the first's holder dies. */
interface Stores {
  first: AlertStore;
  second: AlertStore;
  /** The first replica dies while it leads: its connection (PostgreSQL) or its renewals (SQLite) stop. */
  killFirst(): Promise<void>;
  dispose(): Promise<void>;
}

const TTL = 5_000;

async function sqliteStores(): Promise<Stores> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-alerts-')), 'registry.sqlite');
  const first = new SqliteAlertStore(file);
  const second = new SqliteAlertStore(file);
  return {
    first,
    second,
    killFirst: () => first.close(),
    dispose: async () => {
      await first.close();
      await second.close();
    }
  };
}

async function postgresStores(): Promise<Stores> {
  const url = await postgres().freshDatabase();
  const pools: PostgresPool[] = [await openPostgres(url), await openPostgres(url)];
  const first = await PostgresAlertStore.open(pools[0]!);
  const second = await PostgresAlertStore.open(pools[1]!);
  return {
    first,
    second,
    killFirst: async () => {
      // As a killed replica's connections end: the server ends every session that holds the lead.
      const admin = await openPostgres(url);
      try {
        const { rows } = await admin.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
          [ALERT_LEAD_LOCK.toString()]
        );
        expect(rows.map((r) => r.ended)).toEqual([true]);
      } finally {
        await admin.end();
      }
    },
    dispose: async () => {
      await first.close().catch(() => undefined);
      await second.close();
      await Promise.all(pools.map((p) => p.end()));
    }
  };
}

const rule: AlertRule = {
  name: 'errors',
  metric: 'error_rate',
  condition: '>',
  threshold: 0.2,
  window_seconds: 60,
  severity: 'critical',
  cooldown_seconds: 300,
  min_count: 5,
  enabled: true
};

const alert = (over: Partial<NewAlert> = {}): NewAlert => ({
  model: 'iris',
  version: 1,
  rule: 'errors',
  metric: 'error_rate',
  severity: 'critical',
  condition: '>',
  threshold: 0.2,
  value: 0.5,
  windowSeconds: 60,
  firedAt: 1_700_000_000_000,
  message: 'error rate 0.5 > 0.2',
  ...over
});

describe.each([
  { name: 'SQLite', open: sqliteStores },
  { name: 'PostgreSQL', open: postgresStores }
])('AlertStore on $name', ({ name, open }) => {
  let stores: Stores;
  let store: AlertStore;

  beforeEach(async () => {
    stores = await open();
    store = stores.first;
  });
  afterEach(() => stores.dispose());

  it("should keep a deployment's rules until they return to the defaults", async () => {
    expect(await store.loadRules('iris')).toBeNull();
    await store.saveRules('iris', [rule]);
    expect(await stores.second.loadRules('iris')).toEqual([rule]);
    await store.saveRules('iris', [{ ...rule, threshold: 0.3 }]);
    expect((await store.loadRules('iris'))![0]!.threshold).toBe(0.3);
    await store.saveRules('iris', null);
    expect(await store.loadRules('iris')).toBeNull();
  });

  it("should keep a deployment's webhooks", async () => {
    expect(await store.loadWebhooks('iris')).toEqual([]);
    await store.saveWebhooks('iris', ['http://a.example/hook', 'http://b.example/hook']);
    await store.saveWebhooks('churn', ['http://c.example/hook']);
    expect(await store.loadWebhooks('iris')).toEqual(['http://a.example/hook', 'http://b.example/hook']);
  });

  it('should fire, resolve once, list newest first and prune what resolved long ago', async () => {
    const fired = await store.insertAlert(alert());
    expect(fired).toMatchObject({ model: 'iris', state: 'firing', firedAt: 1_700_000_000_000, resolvedAt: null, resolvedValue: null, value: 0.5 });
    const other = await store.insertAlert(alert({ model: 'churn', firedAt: 1_700_000_100_000 }));
    expect(other.id).toBeGreaterThan(fired.id);
    const resolved = await store.resolveAlert(fired.id, 1_700_000_050_000, 0.1, 'error rate back to 0.1');
    expect(resolved).toMatchObject({ id: fired.id, state: 'resolved', resolvedAt: 1_700_000_050_000, resolvedValue: 0.1, message: 'error rate back to 0.1' });
    // A second resolve changes nothing.
    expect(await store.resolveAlert(fired.id, 1_700_000_090_000, 0.0, 'again')).toMatchObject({ resolvedAt: 1_700_000_050_000 });
    expect(await store.resolveAlert(9999, 1, null, 'none')).toBeUndefined();

    expect((await store.alerts({})).map((a) => a.id)).toEqual([other.id, fired.id]);
    expect((await store.alerts({ model: 'iris' })).map((a) => a.id)).toEqual([fired.id]);
    expect((await store.alerts({ state: 'firing' })).map((a) => a.id)).toEqual([other.id]);
    expect((await store.alerts({ since: 1_700_000_060_000 })).map((a) => a.id)).toEqual([other.id]);
    expect((await store.alerts({ since: 1_700_000_040_000 })).map((a) => a.id)).toEqual([other.id, fired.id]);
    expect((await store.alerts({ limit: 1 })).map((a) => a.id)).toEqual([other.id]);
    expect(await store.lastResolved('iris', 'errors')).toBe(1_700_000_050_000);
    expect(await store.lastResolved('churn', 'errors')).toBeNull();

    await store.prune(1_700_000_040_000);
    expect(await store.alerts({ model: 'iris' })).toHaveLength(1);
    await store.prune(1_700_000_060_000);
    expect(await store.alerts({ model: 'iris' })).toEqual([]);
    expect(await store.alerts({ model: 'churn' })).toHaveLength(1);
  });

  it('should give the lead to one replica, and to another when the first gives it up', async () => {
    const now = Date.now();
    expect(await stores.first.claimLead('a', TTL, now)).toBe(true);
    expect(await stores.second.claimLead('b', TTL, now)).toBe(false);
    // Renewed by its holder.
    expect(await stores.first.claimLead('a', TTL, now + 1000)).toBe(true);
    expect(await stores.second.claimLead('b', TTL, now + 1000)).toBe(false);
    await stores.first.releaseLead('a');
    expect(await stores.second.claimLead('b', TTL, now + 1100)).toBe(true);
    expect(await stores.first.claimLead('a', TTL, now + 1200)).toBe(false);
  });

  it('should hand the lead over when the leader dies', async () => {
    const now = Date.now();
    expect(await stores.first.claimLead('a', TTL, now)).toBe(true);
    await stores.killFirst();
    // PostgreSQL: at once (the lock went with the connection); SQLite: once the lease has run out.
    const later = name === 'SQLite' ? now + TTL + 1 : now;
    expect(await stores.second.claimLead('b', TTL, later)).toBe(true);
    if (name === 'PostgreSQL') expect(await stores.first.claimLead('a', TTL, later)).toBe(false);
  });
});
