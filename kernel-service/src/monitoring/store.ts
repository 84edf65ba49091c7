/**
 * Where monitoring keeps what outlives memory: closed windows (JSON, sketches and samples
 * included, so they merge later), the predictions log that delayed ground truth joins,
 * performance per window, and the concept-drift detectors' states. An interface, so that a
 * PostgreSQL implementation can follow the embedded SQLite one, which shares the
 * registry's database file (its own tables and its own schema version).
 */
import Database from 'better-sqlite3';
import { type PerformanceState, emptyPerformance } from './accumulators.js';
import type { WindowState } from './window.js';

/** One served row, as the predictions log keeps it. */
export interface PredictionRecord {
  model: string;
  /** `<request_id>#<row>`, or `<request_id>` for a single-row request. */
  key: string;
  version: number;
  /** Start of the window the prediction belongs to (ms since the epoch). */
  windowStart: number;
  label: string | null;
  /** The positive class's score (binary classifiers). */
  score: number | null;
  value: number | null;
  at: number;
}

export type WindowOps = Pick<WindowState, 'modelVersion' | 'start' | 'served' | 'shadow'>;

export interface DetectorRecord {
  state: unknown;
  /** When it last detected drift (ms), or null. */
  detectedAt: number | null;
}

export interface MonitoringStore {
  /** Saves windows; a window already stored under the same (model, version, start) is merged with. */
  saveWindows(windows: readonly WindowState[]): void;
  /** Windows of the model that overlap [from, to) (ms). */
  loadWindows(model: string, from: number, to: number): WindowState[];
  /** Only the operations (served and shadow) of the windows that overlap [from, to): far cheaper than whole windows. */
  loadWindowOps(model: string, from: number, to: number): WindowOps[];
  appendPredictions(rows: readonly PredictionRecord[]): void;
  /**
   * The logged predictions of these keys not joined to ground truth yet, marked as joined
   * now (so that feedback repeated for one id counts once). A key `<id>#0` also finds a
   * single-row request logged as `<id>`, and `<id>` one logged as `<id>#0`.
   */
  claimPredictions(model: string, keys: readonly string[]): Array<{ key: string; prediction: PredictionRecord }>;
  /** Adds to the performance state of (model, version, window start). */
  updatePerformance(model: string, version: number, windowStart: number, update: (state: PerformanceState) => void): void;
  loadPerformance(model: string, version: number, from: number, to: number): PerformanceState[];
  loadDetector(model: string, version: number): DetectorRecord | undefined;
  saveDetector(model: string, version: number, record: DetectorRecord): void;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
  /** Drops what is older than `before` (ms), and the oldest predictions past `maxPredictions`. */
  prune(before: number, maxPredictions: number): void;
  close(): void;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE monitor_windows (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     start INTEGER NOT NULL,
     seconds INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (model, start, version)
   );
   CREATE TABLE monitor_predictions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     key TEXT NOT NULL,
     version INTEGER NOT NULL,
     window_start INTEGER NOT NULL,
     label TEXT,
     score REAL,
     value REAL,
     at INTEGER NOT NULL,
     labelled INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX monitor_predictions_by_key ON monitor_predictions(model, key);
   CREATE INDEX monitor_predictions_by_at ON monitor_predictions(at);
   CREATE TABLE monitor_performance (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     window_start INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (model, version, window_start)
   );
   CREATE TABLE monitor_detectors (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     state TEXT NOT NULL,
     detected_at INTEGER,
     PRIMARY KEY (model, version)
   );`
];

/** Rows per multi-row INSERT into the predictions log (8 parameters each, far below SQLite's limit). */
const INSERT_ROWS = 50;

interface PredictionRow {
  seq: number;
  model: string;
  key: string;
  version: number;
  window_start: number;
  label: string | null;
  score: number | null;
  value: number | null;
  at: number;
}

export class SqliteMonitoringStore implements MonitoringStore {
  private readonly _db: Database.Database;

  constructor(file: string, private readonly _mergeWindows: (stored: WindowState, added: WindowState) => WindowState) {
    this._db = new Database(file);
    this._db.pragma('journal_mode = WAL');
    this._db.pragma('synchronous = NORMAL');
    this._db.pragma('busy_timeout = 5000');
    this._db.exec('CREATE TABLE IF NOT EXISTS monitoring_schema (version INTEGER NOT NULL)');
    const row = this._db.prepare<[], { version: number }>('SELECT version FROM monitoring_schema').get();
    if (!row) this._db.prepare('INSERT INTO monitoring_schema (version) VALUES (0)').run();
    for (let i = row?.version ?? 0; i < MIGRATIONS.length; i++) {
      this._db.transaction(() => {
        this._db.exec(MIGRATIONS[i]!);
        this._db.prepare('UPDATE monitoring_schema SET version = ?').run(i + 1);
      })();
    }
    this._getWindow = this._db.prepare('SELECT state FROM monitor_windows WHERE model = ? AND start = ? AND version = ?');
    this._putWindow = this._db.prepare(
      `INSERT INTO monitor_windows (model, version, start, seconds, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model, start, version) DO UPDATE SET state = excluded.state, seconds = excluded.seconds`
    );
    this._insertPrediction = this._db.prepare(
      'INSERT INTO monitor_predictions (model, key, version, window_start, label, score, value, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    );
    this._insertPredictions = this._db.prepare(
      `INSERT INTO monitor_predictions (model, key, version, window_start, label, score, value, at) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`
    );
    this._findPrediction = this._db.prepare('SELECT * FROM monitor_predictions WHERE model = ? AND key = ? AND labelled = 0 ORDER BY seq DESC LIMIT 1');
    this._markLabelled = this._db.prepare('UPDATE monitor_predictions SET labelled = 1 WHERE seq = ?');
  }

  saveWindows(windows: readonly WindowState[]): void {
    this.transaction(() => {
      for (const w of windows) {
        const stored = this._getWindow.get(w.model, w.start, w.modelVersion) as { state: string } | undefined;
        const state = stored ? this._mergeWindows(JSON.parse(stored.state) as WindowState, w) : w;
        this._putWindow.run(w.model, w.modelVersion, w.start, w.seconds, JSON.stringify(state));
      }
    });
  }

  loadWindows(model: string, from: number, to: number): WindowState[] {
    return this._db
      .prepare<[string, number, number], { state: string }>(
        'SELECT state FROM monitor_windows WHERE model = ? AND start < ? AND start + seconds * 1000 > ? ORDER BY start, version'
      )
      .all(model, to, from)
      .map((r) => JSON.parse(r.state) as WindowState);
  }

  loadWindowOps(model: string, from: number, to: number): WindowOps[] {
    return this._db
      .prepare<[string, number, number], { version: number; start: number; served: string; shadow: string }>(
        `SELECT version, start, json_extract(state, '$.served') AS served, json_extract(state, '$.shadow') AS shadow
         FROM monitor_windows WHERE model = ? AND start < ? AND start + seconds * 1000 > ? ORDER BY start, version`
      )
      .all(model, to, from)
      .map((r) => ({ modelVersion: r.version, start: r.start, served: JSON.parse(r.served), shadow: JSON.parse(r.shadow) }));
  }

  appendPredictions(rows: readonly PredictionRecord[]): void {
    this.transaction(() => {
      // Many rows per INSERT: a statement run costs about as much as the B-tree work of a row.
      let i = 0;
      const values: Array<string | number | null> = [];
      for (; i + INSERT_ROWS <= rows.length; i += INSERT_ROWS) {
        values.length = 0;
        for (let j = i; j < i + INSERT_ROWS; j++) {
          const r = rows[j]!;
          values.push(r.model, r.key, r.version, r.windowStart, r.label, r.score, r.value, r.at);
        }
        this._insertPredictions.run(values);
      }
      for (; i < rows.length; i++) {
        const r = rows[i]!;
        this._insertPrediction.run(r.model, r.key, r.version, r.windowStart, r.label, r.score, r.value, r.at);
      }
    });
  }

  claimPredictions(model: string, keys: readonly string[]): Array<{ key: string; prediction: PredictionRecord }> {
    return this.transaction(() => {
      const out: Array<{ key: string; prediction: PredictionRecord }> = [];
      for (const key of keys) {
        let row = this._findPrediction.get(model, key) as PredictionRow | undefined;
        if (!row && key.endsWith('#0')) row = this._findPrediction.get(model, key.slice(0, -2)) as PredictionRow | undefined;
        if (!row && !key.includes('#')) row = this._findPrediction.get(model, `${key}#0`) as PredictionRow | undefined;
        if (!row) continue;
        this._markLabelled.run(row.seq);
        out.push({
          key,
          prediction: { model: row.model, key: row.key, version: row.version, windowStart: row.window_start, label: row.label, score: row.score, value: row.value, at: row.at }
        });
      }
      return out;
    });
  }

  updatePerformance(model: string, version: number, windowStart: number, update: (state: PerformanceState) => void): void {
    this.transaction(() => {
      const row = this._db
        .prepare<[string, number, number], { state: string }>('SELECT state FROM monitor_performance WHERE model = ? AND version = ? AND window_start = ?')
        .get(model, version, windowStart);
      const state = row ? (JSON.parse(row.state) as PerformanceState) : emptyPerformance();
      update(state);
      this._db
        .prepare(
          `INSERT INTO monitor_performance (model, version, window_start, state) VALUES (?, ?, ?, ?)
           ON CONFLICT (model, version, window_start) DO UPDATE SET state = excluded.state`
        )
        .run(model, version, windowStart, JSON.stringify(state));
    });
  }

  loadPerformance(model: string, version: number, from: number, to: number): PerformanceState[] {
    return this._db
      .prepare<[string, number, number, number], { state: string }>(
        'SELECT state FROM monitor_performance WHERE model = ? AND version = ? AND window_start >= ? AND window_start < ?'
      )
      .all(model, version, from, to)
      .map((r) => JSON.parse(r.state) as PerformanceState);
  }

  loadDetector(model: string, version: number): DetectorRecord | undefined {
    const row = this._db
      .prepare<[string, number], { state: string; detected_at: number | null }>('SELECT state, detected_at FROM monitor_detectors WHERE model = ? AND version = ?')
      .get(model, version);
    return row ? { state: JSON.parse(row.state), detectedAt: row.detected_at } : undefined;
  }

  saveDetector(model: string, version: number, record: DetectorRecord): void {
    this._db
      .prepare(
        `INSERT INTO monitor_detectors (model, version, state, detected_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model, version) DO UPDATE SET state = excluded.state, detected_at = excluded.detected_at`
      )
      .run(model, version, JSON.stringify(record.state), record.detectedAt);
  }

  transaction<T>(fn: () => T): T {
    return this._db.transaction(fn)();
  }

  prune(before: number, maxPredictions: number): void {
    this.transaction(() => {
      this._db.prepare('DELETE FROM monitor_windows WHERE start + seconds * 1000 <= ?').run(before);
      this._db.prepare('DELETE FROM monitor_performance WHERE window_start < ?').run(before);
      this._db.prepare('DELETE FROM monitor_predictions WHERE at < ?').run(before);
      const newest = this._db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM monitor_predictions').get()?.seq;
      if (newest != null) this._db.prepare('DELETE FROM monitor_predictions WHERE seq <= ?').run(newest - maxPredictions);
    });
  }

  close(): void {
    this._db.close();
  }

  private readonly _getWindow: Database.Statement;
  private readonly _putWindow: Database.Statement;
  private readonly _insertPrediction: Database.Statement;
  private readonly _insertPredictions: Database.Statement;
  private readonly _findPrediction: Database.Statement;
  private readonly _markLabelled: Database.Statement;
}
