/**
 * The alert store on PostgreSQL, for replicas that share one database: the same tables as the
 * SQLite store (alert-store.ts; component `alerts`). The alert lead is a session-level advisory
 * lock (`pg_try_advisory_lock`) taken on a client of its own, held for as long as this replica
 * leads: a replica that dies loses the lock with its connection, so another takes the lead at
 * its next claim, without waiting for a lease to run out (the lease's `ttlMs` and `now` are the
 * SQLite store's; here the connection is the lease).
 */
import { type PostgresClient, type PostgresMigration, type PostgresPool, migratePostgres } from '../storage/postgres-database.js';
import type { AlertRule } from './alert-rules.js';
import { type AlertQuery, type AlertRecord, type AlertRow, type AlertStore, type NewAlert, toRecord } from './alert-store.js';

const MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE alert_rules (
     model TEXT PRIMARY KEY,
     rules TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE alert_webhooks (
     model TEXT PRIMARY KEY,
     urls TEXT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE TABLE alerts (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER,
     rule TEXT NOT NULL,
     metric TEXT NOT NULL,
     severity TEXT NOT NULL,
     condition TEXT NOT NULL,
     threshold DOUBLE PRECISION NOT NULL,
     value DOUBLE PRECISION NOT NULL,
     window_seconds INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
     fired_at BIGINT NOT NULL,
     resolved_at BIGINT,
     resolved_value DOUBLE PRECISION,
     message TEXT NOT NULL
   );
   CREATE INDEX alerts_by_model ON alerts(model, fired_at);
   CREATE INDEX alerts_by_state ON alerts(state);`
];

// The advisory lock key of the alert lead (spells "nbdlead", recognisable in pg_locks).
export const ALERT_LEAD_LOCK = 0x6e62646c656164n;

/** A row as pg returns it: BIGINT columns come back as strings. */
type PostgresAlertRow = Omit<AlertRow, 'fired_at' | 'resolved_at'> & { fired_at: string; resolved_at: string | null };

export class PostgresAlertStore implements AlertStore {
  private constructor(private readonly _pool: PostgresPool) {}

  /** The store on the service's pool (ended by its owner), its tables migrated. */
  static async open(pool: PostgresPool): Promise<PostgresAlertStore> {
    await migratePostgres(pool, 'alerts', MIGRATIONS);
    return new PostgresAlertStore(pool);
  }

  async claimLead(holder: string): Promise<boolean> {
    if (this._lead) {
      if (this._lead.holder !== holder) return false;
      // Still leading while the lock's connection lives; a dropped one lost the lock with it.
      try {
        await this._lead.client.query('SELECT 1');
        return true;
      } catch (error) {
        this._dropLead(error as Error);
        return false;
      }
    }
    const client = await this._pool.connect();
    // A connection that drops while this replica leads must not crash the process: the next claim notices.
    const onError = (): void => undefined;
    client.on('error', onError);
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [ALERT_LEAD_LOCK.toString()]);
      if (rows[0]!.locked) {
        this._lead = { holder, client, onError };
        return true;
      }
    } catch (error) {
      client.off('error', onError);
      client.release(error as Error);
      throw error;
    }
    client.off('error', onError);
    client.release();
    return false;
  }

  async releaseLead(holder: string): Promise<void> {
    const lead = this._lead;
    if (!lead || lead.holder !== holder) return;
    this._lead = null;
    try {
      await lead.client.query('SELECT pg_advisory_unlock($1::bigint)', [ALERT_LEAD_LOCK.toString()]);
      lead.client.off('error', lead.onError);
      lead.client.release();
    } catch (error) {
      // The connection is gone, and the lock with it.
      lead.client.off('error', lead.onError);
      lead.client.release(error as Error);
    }
  }

  async loadRules(model: string): Promise<AlertRule[] | null> {
    const { rows } = await this._pool.query<{ rules: string }>('SELECT rules FROM alert_rules WHERE model = $1', [model]);
    return rows[0] ? (JSON.parse(rows[0].rules) as AlertRule[]) : null;
  }

  async saveRules(model: string, rules: readonly AlertRule[] | null): Promise<void> {
    if (rules === null) {
      await this._pool.query('DELETE FROM alert_rules WHERE model = $1', [model]);
      return;
    }
    await this._pool.query(
      `INSERT INTO alert_rules (model, rules, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (model) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
      [model, JSON.stringify(rules), Date.now()]
    );
  }

  async loadWebhooks(model: string): Promise<string[]> {
    const { rows } = await this._pool.query<{ urls: string }>('SELECT urls FROM alert_webhooks WHERE model = $1', [model]);
    return rows[0] ? (JSON.parse(rows[0].urls) as string[]) : [];
  }

  async saveWebhooks(model: string, urls: readonly string[]): Promise<void> {
    await this._pool.query(
      `INSERT INTO alert_webhooks (model, urls, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (model) DO UPDATE SET urls = excluded.urls, updated_at = excluded.updated_at`,
      [model, JSON.stringify(urls), Date.now()]
    );
  }

  async insertAlert(a: NewAlert): Promise<AlertRecord> {
    const { rows } = await this._pool.query<PostgresAlertRow>(
      `INSERT INTO alerts (model, version, rule, metric, severity, condition, threshold, value, window_seconds, state, fired_at, message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'firing', $10, $11) RETURNING *`,
      [a.model, a.version, a.rule, a.metric, a.severity, a.condition, a.threshold, a.value, a.windowSeconds, a.firedAt, a.message]
    );
    return fromRow(rows[0]!);
  }

  async resolveAlert(id: number, at: number, value: number | null, message: string): Promise<AlertRecord | undefined> {
    await this._pool.query("UPDATE alerts SET state = 'resolved', resolved_at = $1, resolved_value = $2, message = $3 WHERE id = $4 AND state = 'firing'", [
      at,
      value,
      message,
      id
    ]);
    const { rows } = await this._pool.query<PostgresAlertRow>('SELECT * FROM alerts WHERE id = $1', [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async alerts(query: AlertQuery): Promise<AlertRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const param = (value: string | number): string => `$${params.push(value)}`;
    if (query.model !== undefined) where.push(`model = ${param(query.model)}`);
    if (query.state !== undefined) where.push(`state = ${param(query.state)}`);
    if (query.since !== undefined) {
      const since = param(query.since);
      where.push(`(state = 'firing' OR fired_at >= ${since} OR resolved_at >= ${since})`);
    }
    const limit = param(Math.min(Math.max(query.limit ?? 1000, 1), 10_000));
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`;
    const { rows } = await this._pool.query<PostgresAlertRow>(sql, params);
    return rows.map(fromRow);
  }

  async lastResolved(model: string, rule: string): Promise<number | null> {
    const { rows } = await this._pool.query<{ at: string | null }>(
      "SELECT MAX(resolved_at) AS at FROM alerts WHERE model = $1 AND rule = $2 AND state = 'resolved'",
      [model, rule]
    );
    return rows[0]?.at == null ? null : Number(rows[0].at);
  }

  async prune(before: number): Promise<void> {
    await this._pool.query("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < $1", [before]);
  }

  /** Gives the lead up if this store holds it; the pool is its owner's. */
  async close(): Promise<void> {
    if (this._lead) await this.releaseLead(this._lead.holder);
  }

  private _dropLead(error: Error): void {
    const lead = this._lead!;
    this._lead = null;
    lead.client.off('error', lead.onError);
    lead.client.release(error);
  }

  private _lead: { holder: string; client: PostgresClient; onError: () => void } | null = null;
}

/** pg returns BIGINT columns as strings. */
function fromRow(r: PostgresAlertRow): AlertRecord {
  return toRecord({ ...r, fired_at: Number(r.fired_at), resolved_at: r.resolved_at === null ? null : Number(r.resolved_at) });
}
