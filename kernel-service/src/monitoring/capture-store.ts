/**
 * Where captured requests are kept: a sample of served requests (a deployment's `capture`),
 * each with its inputs and answers as tensors, until its retention ends. Features flagged as
 * personal data arrive here already hashed (capture.ts) with the secret salt this store keeps.
 * An interface (its methods answer promises) with two implementations: SQLite (here, in the
 * service's database file) and PostgreSQL (postgres-capture-store.ts); their own tables, schema
 * component `capture` on both. The row mapping both read with is here too.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { type Migration, type SqliteDatabase, migrate } from '../storage/sqlite-database.js';
import type { Datatype } from '../protocol/datatypes.js';

/** A tensor as captured: its values as numbers or strings; `hashed` lists the columns that hold salted hashes. */
export interface CapturedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: Array<number | string | null>;
  /** Columns (of a `[rows, columns]` tensor; 0 for a one-column input) whose values are hashes of personal data. */
  hashed?: number[];
}

export interface CapturedRequest {
  model: string;
  version: number;
  requestId: string;
  /** When it was answered (ms since the epoch). */
  at: number;
  /** A shadow version's answer to the request (the served answer has `shadow` false). */
  shadow: boolean;
  rows: number;
  /** How long it took to answer (ms). */
  latencyMs: number;
  /** Dropped after this time (ms). */
  expiresAt: number;
  inputs: CapturedTensor[];
  outputs: CapturedTensor[];
}

export interface CaptureQuery {
  model: string;
  /** [from, to) in ms. */
  from: number;
  to: number;
  version?: number;
  /** Shadow answers instead of served ones. */
  shadow: boolean;
  /** Requests are read until they hold at least this many rows. */
  maxRows: number;
}

export interface CaptureStore {
  append(requests: readonly CapturedRequest[]): Promise<void>;
  /** The captured requests of the query, oldest first. */
  read(query: CaptureQuery): Promise<CapturedRequest[]>;
  /**
   * Keeps ground truth given for captured requests (by feedback key: `<id>` or `<id>#<row>`),
   * so that a replay can measure both versions' answers against it.
   */
  recordTruth(model: string, items: ReadonlyArray<{ key: string; truth: unknown }>): Promise<void>;
  /** The ground truth kept for these keys. */
  truthOf(model: string, keys: readonly string[]): Promise<Map<string, unknown>>;
  /** Drops requests whose retention ended before `now` (ms), and their ground truth; returns how many. */
  prune(now: number): Promise<number>;
  /** The secret that personal-data hashes are keyed with (made once, kept in the database). */
  salt(): Promise<Buffer>;
}

const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`CREATE TABLE captured_requests (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       model TEXT NOT NULL,
       version INTEGER NOT NULL,
       request_id TEXT NOT NULL,
       at INTEGER NOT NULL,
       shadow INTEGER NOT NULL,
       rows INTEGER NOT NULL,
       expires_at INTEGER NOT NULL,
       inputs TEXT NOT NULL,
       outputs TEXT NOT NULL
     );
     CREATE INDEX captured_requests_by_time ON captured_requests(model, shadow, at);
     CREATE INDEX captured_requests_by_expiry ON captured_requests(expires_at);
     CREATE TABLE capture_salt (salt BLOB NOT NULL);`);
    db.prepare('INSERT INTO capture_salt (salt) VALUES (?)').run(randomBytes(32));
  },
  `ALTER TABLE captured_requests ADD COLUMN latency_ms REAL NOT NULL DEFAULT 0;
   CREATE INDEX captured_requests_by_id ON captured_requests(model, request_id);
   CREATE TABLE captured_truth (
     model TEXT NOT NULL,
     key TEXT NOT NULL,
     request_id TEXT NOT NULL,
     truth TEXT NOT NULL,
     PRIMARY KEY (model, key)
   );`
];

/** A row of `captured_requests`, as either backend reads it (SQLite's flag is 0/1, PostgreSQL's a boolean). */
export interface CapturedRow {
  model: string;
  version: number;
  request_id: string;
  at: number;
  shadow: number | boolean;
  rows: number;
  latency_ms: number;
  expires_at: number;
  inputs: string;
  outputs: string;
}

export class SqliteCaptureStore implements CaptureStore {
  constructor(private readonly _db: SqliteDatabase) {
    migrate(_db, 'capture', MIGRATIONS);
    this._insert = _db.prepare(
      'INSERT INTO captured_requests (model, version, request_id, at, shadow, rows, latency_ms, expires_at, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
    );
    this._putTruth = _db.prepare(
      `INSERT INTO captured_truth (model, key, request_id, truth)
       SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM captured_requests WHERE model = ? AND request_id = ?)
       ON CONFLICT (model, key) DO UPDATE SET truth = excluded.truth`
    );
    this._getTruth = _db.prepare('SELECT truth FROM captured_truth WHERE model = ? AND key = ?');
  }

  async append(requests: readonly CapturedRequest[]): Promise<void> {
    if (requests.length === 0) return;
    this._db
      .transaction(() => {
        for (const r of requests) {
          this._insert.run(r.model, r.version, r.requestId, r.at, r.shadow ? 1 : 0, r.rows, r.latencyMs, r.expiresAt, JSON.stringify(r.inputs), JSON.stringify(r.outputs));
        }
      })
      .immediate();
  }

  async read(query: CaptureQuery): Promise<CapturedRequest[]> {
    const version = query.version === undefined ? '' : ' AND version = ?';
    const statement = this._db.prepare<Array<string | number>, CapturedRow>(
      `SELECT model, version, request_id, at, shadow, rows, latency_ms, expires_at, inputs, outputs FROM captured_requests
       WHERE model = ? AND shadow = ? AND at >= ? AND at < ?${version} ORDER BY at, seq`
    );
    const params: Array<string | number> = [query.model, query.shadow ? 1 : 0, query.from, query.to];
    if (query.version !== undefined) params.push(query.version);
    const out: CapturedRequest[] = [];
    let rows = 0;
    for (const row of statement.iterate(...params)) {
      if (rows >= query.maxRows) break;
      rows += row.rows;
      out.push(toCapturedRequest(row));
    }
    return out;
  }

  async recordTruth(model: string, items: ReadonlyArray<{ key: string; truth: unknown }>): Promise<void> {
    if (items.length === 0) return;
    this._db
      .transaction(() => {
        for (const { key, truth } of items) {
          const requestId = requestIdOf(key);
          this._putTruth.run(model, key, requestId, JSON.stringify(truth ?? null), model, requestId);
        }
      })
      .immediate();
  }

  async truthOf(model: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const key of keys) {
      const row = this._getTruth.get(model, key) as { truth: string } | undefined;
      if (row) out.set(key, JSON.parse(row.truth));
    }
    return out;
  }

  async prune(now: number): Promise<number> {
    return this._db
      .transaction(() => {
        const dropped = this._db.prepare('DELETE FROM captured_requests WHERE expires_at < ?').run(now).changes;
        if (dropped > 0) {
          this._db.prepare('DELETE FROM captured_truth WHERE NOT EXISTS (SELECT 1 FROM captured_requests c WHERE c.model = captured_truth.model AND c.request_id = captured_truth.request_id)').run();
        }
        return dropped;
      })
      .immediate();
  }

  async salt(): Promise<Buffer> {
    this._salt ??= this._db.prepare<[], { salt: Buffer }>('SELECT salt FROM capture_salt').get()!.salt;
    return this._salt;
  }

  private readonly _insert: Database.Statement;
  private readonly _putTruth: Database.Statement;
  private readonly _getTruth: Database.Statement;
  private _salt: Buffer | null = null;
}

export function toCapturedRequest(row: CapturedRow): CapturedRequest {
  return {
    model: row.model,
    version: row.version,
    requestId: row.request_id,
    at: row.at,
    shadow: row.shadow === 1 || row.shadow === true,
    rows: row.rows,
    latencyMs: row.latency_ms,
    expiresAt: row.expires_at,
    inputs: JSON.parse(row.inputs) as CapturedTensor[],
    outputs: JSON.parse(row.outputs) as CapturedTensor[]
  };
}

/** The request id of a feedback key: `<id>#<row>` names a row of a request of several rows. */
export function requestIdOf(key: string): string {
  const hash = key.lastIndexOf('#');
  return hash > 0 && /^\d+$/.test(key.slice(hash + 1)) ? key.slice(0, hash) : key;
}
