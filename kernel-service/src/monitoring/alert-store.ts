/**
 * Where alerting keeps what outlives the process: each deployment's rules and webhooks (when
 * they are not the defaults) and the alert history. An interface (every method answers a
 * promise), like the monitoring store, so that PostgreSQL can follow; the SQLite
 * implementation shares the service's SQLite database, in its own tables with its own schema
 * version (component `alerts`).
 */
import { type Migration, type SqliteDatabase, migrate, openDatabase, versionInTable } from '../storage/sqlite-database.js';
import type { AlertCondition, AlertMetric, AlertRule, AlertSeverity } from './alert-rules.js';

export type AlertState = 'firing' | 'resolved';

/** One alert: fired once, resolved at most once. Times in ms since the epoch. */
export interface AlertRecord {
  id: number;
  model: string;
  version: number | null;
  rule: string;
  metric: AlertMetric;
  severity: AlertSeverity;
  condition: AlertCondition;
  threshold: number;
  value: number;
  windowSeconds: number;
  state: AlertState;
  firedAt: number;
  resolvedAt: number | null;
  resolvedValue: number | null;
  message: string;
}

export type NewAlert = Omit<AlertRecord, 'id' | 'state' | 'resolvedAt' | 'resolvedValue'>;

export interface AlertQuery {
  model?: string;
  state?: AlertState;
  /** Alerts firing now, or fired or resolved at or after this time (ms). */
  since?: number;
  limit?: number;
}

export interface AlertStore {
  /** The deployment's own rules, or null while it has the defaults. */
  loadRules(model: string): Promise<AlertRule[] | null>;
  /** Saves the deployment's rules; null returns it to the defaults. */
  saveRules(model: string, rules: readonly AlertRule[] | null): Promise<void>;
  loadWebhooks(model: string): Promise<string[]>;
  saveWebhooks(model: string, urls: readonly string[]): Promise<void>;
  insertAlert(alert: NewAlert): Promise<AlertRecord>;
  resolveAlert(id: number, at: number, value: number | null, message: string): Promise<AlertRecord | undefined>;
  /** Newest first. */
  alerts(query: AlertQuery): Promise<AlertRecord[]>;
  /** When the rule's latest alert resolved (ms), or null. */
  lastResolved(model: string, rule: string): Promise<number | null>;
  /** Drops resolved alerts that resolved before `before` (ms). */
  prune(before: number): Promise<void>;
  /**
   * Replicas of one service evaluate alert rules once for all: the one holding the lead. Takes
   * or renews the lead for `holder` until `now + ttlMs` when it is free, expired or already
   * the holder's; says whether `holder` leads.
   */
  claimLead(holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lead up (a replica stopping), so that another takes it at its next claim. */
  releaseLead(holder: string): Promise<void>;
  close(): Promise<void>;
}

const MIGRATIONS: Migration[] = [
  `CREATE TABLE alert_rules (
     model TEXT PRIMARY KEY,
     rules TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE alert_webhooks (
     model TEXT PRIMARY KEY,
     urls TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE alerts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER,
     rule TEXT NOT NULL,
     metric TEXT NOT NULL,
     severity TEXT NOT NULL,
     condition TEXT NOT NULL,
     threshold REAL NOT NULL,
     value REAL NOT NULL,
     window_seconds INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
     fired_at INTEGER NOT NULL,
     resolved_at INTEGER,
     resolved_value REAL,
     message TEXT NOT NULL
   );
   CREATE INDEX alerts_by_model ON alerts(model, fired_at);
   CREATE INDEX alerts_by_state ON alerts(state);`,
  `CREATE TABLE alert_lead (
     one INTEGER PRIMARY KEY CHECK (one = 1),
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`
];

/** A row of `alerts`, times in ms (both backends' tables). */
export interface AlertRow {
  id: number;
  model: string;
  version: number | null;
  rule: string;
  metric: AlertMetric;
  severity: AlertSeverity;
  condition: AlertCondition;
  threshold: number;
  value: number;
  window_seconds: number;
  state: AlertState;
  fired_at: number;
  resolved_at: number | null;
  resolved_value: number | null;
  message: string;
}

export class SqliteAlertStore implements AlertStore {
  private readonly _db: SqliteDatabase;
  private readonly _owned: boolean;

  /** A database file, or the service's shared connection (closed by its owner). */
  constructor(database: string | SqliteDatabase) {
    this._owned = typeof database === 'string';
    this._db = typeof database === 'string' ? openDatabase(database) : database;
    migrate(this._db, 'alerts', MIGRATIONS, versionInTable('alerts_schema'));
  }

  async claimLead(holder: string, ttlMs: number, now: number): Promise<boolean> {
    const claimed = this._db
      .prepare(
        `INSERT INTO alert_lead (one, holder, expires_at) VALUES (1, @holder, @expires)
         ON CONFLICT (one) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE alert_lead.holder = excluded.holder OR alert_lead.expires_at < @now`
      )
      .run({ holder, expires: now + ttlMs, now });
    return claimed.changes === 1;
  }

  async releaseLead(holder: string): Promise<void> {
    this._db.prepare('DELETE FROM alert_lead WHERE holder = ?').run(holder);
  }

  async loadRules(model: string): Promise<AlertRule[] | null> {
    const row = this._db.prepare<[string], { rules: string }>('SELECT rules FROM alert_rules WHERE model = ?').get(model);
    return row ? (JSON.parse(row.rules) as AlertRule[]) : null;
  }

  async saveRules(model: string, rules: readonly AlertRule[] | null): Promise<void> {
    if (rules === null) {
      this._db.prepare('DELETE FROM alert_rules WHERE model = ?').run(model);
      return;
    }
    this._db
      .prepare(
        `INSERT INTO alert_rules (model, rules, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (model) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`
      )
      .run(model, JSON.stringify(rules), Date.now());
  }

  async loadWebhooks(model: string): Promise<string[]> {
    const row = this._db.prepare<[string], { urls: string }>('SELECT urls FROM alert_webhooks WHERE model = ?').get(model);
    return row ? (JSON.parse(row.urls) as string[]) : [];
  }

  async saveWebhooks(model: string, urls: readonly string[]): Promise<void> {
    this._db
      .prepare(
        `INSERT INTO alert_webhooks (model, urls, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (model) DO UPDATE SET urls = excluded.urls, updated_at = excluded.updated_at`
      )
      .run(model, JSON.stringify(urls), Date.now());
  }

  async insertAlert(a: NewAlert): Promise<AlertRecord> {
    const { lastInsertRowid } = this._db
      .prepare(
        `INSERT INTO alerts (model, version, rule, metric, severity, condition, threshold, value, window_seconds, state, fired_at, message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'firing', ?, ?)`
      )
      .run(a.model, a.version, a.rule, a.metric, a.severity, a.condition, a.threshold, a.value, a.windowSeconds, a.firedAt, a.message);
    return this._get(Number(lastInsertRowid))!;
  }

  async resolveAlert(id: number, at: number, value: number | null, message: string): Promise<AlertRecord | undefined> {
    this._db
      .prepare("UPDATE alerts SET state = 'resolved', resolved_at = ?, resolved_value = ?, message = ? WHERE id = ? AND state = 'firing'")
      .run(at, value, message, id);
    return this._get(id);
  }

  async alerts(query: AlertQuery): Promise<AlertRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.model !== undefined) {
      where.push('model = ?');
      params.push(query.model);
    }
    if (query.state !== undefined) {
      where.push('state = ?');
      params.push(query.state);
    }
    if (query.since !== undefined) {
      where.push("(state = 'firing' OR fired_at >= ? OR resolved_at >= ?)");
      params.push(query.since, query.since);
    }
    const limit = Math.min(Math.max(query.limit ?? 1000, 1), 10_000);
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this._db
      .prepare<Array<string | number>, AlertRow>(sql)
      .all(...params, limit)
      .map(toRecord);
  }

  async lastResolved(model: string, rule: string): Promise<number | null> {
    const row = this._db
      .prepare<[string, string], { at: number | null }>("SELECT MAX(resolved_at) AS at FROM alerts WHERE model = ? AND rule = ? AND state = 'resolved'")
      .get(model, rule);
    return row?.at ?? null;
  }

  async prune(before: number): Promise<void> {
    this._db.prepare("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run(before);
  }

  async close(): Promise<void> {
    if (this._owned) this._db.close();
  }

  private _get(id: number): AlertRecord | undefined {
    const row = this._db.prepare<[number], AlertRow>('SELECT * FROM alerts WHERE id = ?').get(id);
    return row ? toRecord(row) : undefined;
  }
}

export function toRecord(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    rule: r.rule,
    metric: r.metric,
    severity: r.severity,
    condition: r.condition,
    threshold: r.threshold,
    value: r.value,
    windowSeconds: r.window_seconds,
    state: r.state,
    firedAt: r.fired_at,
    resolvedAt: r.resolved_at,
    resolvedValue: r.resolved_value,
    message: r.message
  };
}
