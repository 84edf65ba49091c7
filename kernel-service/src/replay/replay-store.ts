/**
 * Where replays are kept: what each found (not its rows), with who asked and when, so that a
 * deploy can be gated on the version's latest replay (replay-gates.ts). An interface, so that
 * the embedded SQLite one here and the PostgreSQL one (postgres-replay-store.ts) share the
 * callers (schema component `replay`); its methods answer promises.
 */
import type Database from 'better-sqlite3';
import type { ReplayMetrics } from './replay-report.js';
import { type Migration, type SqliteDatabase, migrate } from '../storage/sqlite-database.js';

export interface StoredReplay {
  id: number;
  model: string;
  version: number;
  source: 'captured' | 'shadow';
  rows: number;
  agreement: number | null;
  changed: number;
  /** Both answers against the ground truth received, with `delta` = candidate − served; null: none arrived. */
  metrics: ReplayMetrics | null;
  /** The span replayed (ISO 8601). */
  from: string;
  to: string;
  createdAt: string;
  createdBy: string;
}

export interface ReplayStore {
  save(replay: Omit<StoredReplay, 'id' | 'createdAt'>): Promise<StoredReplay>;
  /** The version's latest replay, if any. */
  latest(model: string, version: number): Promise<StoredReplay | undefined>;
}

/** A row of `replays` (both backends' tables): the summary as JSON. */
export interface ReplayRow {
  id: number;
  summary: string;
  created_at: string;
  created_by: string;
}

export function fromReplayRow(row: ReplayRow): StoredReplay {
  return { ...(JSON.parse(row.summary) as Omit<StoredReplay, 'id' | 'createdAt' | 'createdBy'>), id: row.id, createdAt: row.created_at, createdBy: row.created_by };
}

/** What a new replay's row holds besides its id. */
export function replayRow(replay: Omit<StoredReplay, 'id' | 'createdAt'>): Omit<ReplayRow, 'id'> {
  const { createdBy, ...summary } = replay;
  return { summary: JSON.stringify(summary), created_at: new Date().toISOString(), created_by: createdBy };
}

const MIGRATIONS: Migration[] = [
  `CREATE TABLE replays (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     summary TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE INDEX replays_by_version ON replays(model, version, id);`
];

export class SqliteReplayStore implements ReplayStore {
  constructor(db: SqliteDatabase) {
    migrate(db, 'replay', MIGRATIONS);
    this._insert = db.prepare('INSERT INTO replays (model, version, summary, created_at, created_by) VALUES (?, ?, ?, ?, ?)');
    this._latest = db.prepare('SELECT id, summary, created_at, created_by FROM replays WHERE model = ? AND version = ? ORDER BY id DESC LIMIT 1');
  }

  async save(replay: Omit<StoredReplay, 'id' | 'createdAt'>): Promise<StoredReplay> {
    const row = replayRow(replay);
    const id = Number(this._insert.run(replay.model, replay.version, row.summary, row.created_at, row.created_by).lastInsertRowid);
    return { ...replay, id, createdAt: row.created_at };
  }

  async latest(model: string, version: number): Promise<StoredReplay | undefined> {
    const row = this._latest.get(model, version) as ReplayRow | undefined;
    return row ? fromReplayRow(row) : undefined;
  }

  private readonly _insert: Database.Statement;
  private readonly _latest: Database.Statement;
}
