/**
 * Where captured requests are kept: a sample of served requests (a deployment's `capture`),
 * each with its inputs and answers as tensors, until its retention ends. Features flagged as
 * personal data arrive here already hashed (capture.ts) with the secret salt this store keeps.
 * An interface, so that a PostgreSQL implementation can follow the embedded SQLite one, which
 * shares the service's database (its own tables, schema component `capture`).
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
  append(requests: readonly CapturedRequest[]): void;
  /** The captured requests of the query, oldest first. */
  read(query: CaptureQuery): CapturedRequest[];
  /** Drops requests whose retention ended before `now` (ms); returns how many. */
  prune(now: number): number;
  /** The secret that personal-data hashes are keyed with (made once, kept in the database). */
  salt(): Buffer;
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
  }
];

interface Row {
  model: string;
  version: number;
  request_id: string;
  at: number;
  shadow: number;
  rows: number;
  expires_at: number;
  inputs: string;
  outputs: string;
}

export class SqliteCaptureStore implements CaptureStore {
  constructor(private readonly _db: SqliteDatabase) {
    migrate(_db, 'capture', MIGRATIONS);
    this._insert = _db.prepare(
      'INSERT INTO captured_requests (model, version, request_id, at, shadow, rows, expires_at, inputs, outputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
    );
  }

  append(requests: readonly CapturedRequest[]): void {
    if (requests.length === 0) return;
    this._db
      .transaction(() => {
        for (const r of requests) {
          this._insert.run(r.model, r.version, r.requestId, r.at, r.shadow ? 1 : 0, r.rows, r.expiresAt, JSON.stringify(r.inputs), JSON.stringify(r.outputs));
        }
      })
      .immediate();
  }

  read(query: CaptureQuery): CapturedRequest[] {
    const version = query.version === undefined ? '' : ' AND version = ?';
    const statement = this._db.prepare<Array<string | number>, Row>(
      `SELECT model, version, request_id, at, shadow, rows, expires_at, inputs, outputs FROM captured_requests
       WHERE model = ? AND shadow = ? AND at >= ? AND at < ?${version} ORDER BY at, seq`
    );
    const params: Array<string | number> = [query.model, query.shadow ? 1 : 0, query.from, query.to];
    if (query.version !== undefined) params.push(query.version);
    const out: CapturedRequest[] = [];
    let rows = 0;
    for (const row of statement.iterate(...params)) {
      if (rows >= query.maxRows) break;
      rows += row.rows;
      out.push({
        model: row.model,
        version: row.version,
        requestId: row.request_id,
        at: row.at,
        shadow: row.shadow === 1,
        rows: row.rows,
        expiresAt: row.expires_at,
        inputs: JSON.parse(row.inputs) as CapturedTensor[],
        outputs: JSON.parse(row.outputs) as CapturedTensor[]
      });
    }
    return out;
  }

  prune(now: number): number {
    return this._db.prepare('DELETE FROM captured_requests WHERE expires_at < ?').run(now).changes;
  }

  salt(): Buffer {
    this._salt ??= this._db.prepare<[], { salt: Buffer }>('SELECT salt FROM capture_salt').get()!.salt;
    return this._salt;
  }

  private readonly _insert: Database.Statement;
  private _salt: Buffer | null = null;
}
