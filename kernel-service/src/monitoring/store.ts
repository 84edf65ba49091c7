/**
 * The monitoring store in SQLite (the `MonitoringStore` interface: monitoring-store.ts), in
 * the service's database file beside the registry (its own tables, schema component
 * `monitoring`); synchronous inside (better-sqlite3), its methods `async`.
 */
import type Database from 'better-sqlite3';
import { type Migration, type SqliteDatabase, migrate, openDatabase, versionInTable } from '../storage/sqlite-database.js';
import { type PerformanceState, emptyPerformance } from './accumulators.js';
import { type DetectorRecord, type MonitoringStore, type PredictionRecord, newReplicaId } from './monitoring-store.js';
import { PREDICTION_COLUMNS, type PredictionRow, loggedKeysOf, predictionValues, toPrediction } from './prediction-rows.js';
import { BLOCK_SECONDS, type MergeWindows, addToBlock, asBlock, blockAdditions, blockStart, mergedBlock } from './window-blocks.js';
import type { WindowState } from './window.js';

// What the callers of the monitoring store import from here since before the interface had a file of its own.
export { type DetectorRecord, type MonitoringStore, type PredictionRecord, newReplicaId } from './monitoring-store.js';
export { BLOCK_SECONDS, blockStart } from './window-blocks.js';

function migrations(mergeWindows: MergeWindows): Migration[] {
  return [
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
     );`,
    // Hour blocks, built from the windows already stored.
    (db) => {
      db.exec(`CREATE TABLE monitor_blocks (
         model TEXT NOT NULL,
         version INTEGER NOT NULL,
         start INTEGER NOT NULL,
         state TEXT NOT NULL,
         PRIMARY KEY (model, start, version)
       )`);
      const put = db.prepare('INSERT INTO monitor_blocks (model, version, start, state) VALUES (?, ?, ?, ?)');
      // An integer literal: a bound number is a REAL to SQLite, whose division would not round down.
      const hours = db
        .prepare<[], { model: string; version: number; start: number }>(
          `SELECT DISTINCT model, version, (start / ${BLOCK_SECONDS * 1000}) * ${BLOCK_SECONDS * 1000} AS start FROM monitor_windows`
        )
        .all();
      const windows = db.prepare<[string, number, number, number], { state: string }>(
        'SELECT state FROM monitor_windows WHERE model = ? AND version = ? AND start >= ? AND start < ? ORDER BY start'
      );
      for (const h of hours) {
        let block: WindowState | null = null;
        for (const row of windows.all(h.model, h.version, h.start, h.start + BLOCK_SECONDS * 1000)) {
          const w = JSON.parse(row.state) as WindowState;
          block = block ? addToBlock(block, w, mergeWindows) : asBlock(w);
        }
        if (block) put.run(h.model, h.version, h.start, JSON.stringify(block));
      }
    },
    // Every logged row paid for this index; the prune it served runs once a window, in the
    // monitoring worker, where scanning the log (at most 1,000,000 rows) costs no request anything.
    'DROP INDEX IF EXISTS monitor_predictions_by_at;',
    // Replicas of one service: the open windows each publishes, and which windows each saved (caches elsewhere read them again).
    `CREATE TABLE monitor_partials (
       model TEXT NOT NULL,
       version INTEGER NOT NULL,
       start INTEGER NOT NULL,
       replica TEXT NOT NULL,
       state TEXT NOT NULL,
       updated_at INTEGER NOT NULL,
       PRIMARY KEY (model, version, start, replica)
     );
     CREATE TABLE monitor_window_writes (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       model TEXT NOT NULL,
       version INTEGER NOT NULL,
       start INTEGER NOT NULL,
       replica TEXT NOT NULL,
       at INTEGER NOT NULL
     );`
  ];
}

/** Rows per multi-row INSERT into the predictions log (8 parameters each, far below SQLite's limit). */
const INSERT_ROWS = 50;

type Statement = Database.Statement;


export class SqliteMonitoringStore implements MonitoringStore {
  private readonly _db: SqliteDatabase;
  private readonly _owned: boolean;

  /** A database file, or a connection it shares (closed by its owner); `replica` names this process among the service's replicas. */
  constructor(
    database: string | SqliteDatabase,
    private readonly _mergeWindows: MergeWindows,
    readonly replica: string = newReplicaId()
  ) {
    this._owned = typeof database === 'string';
    this._db = typeof database === 'string' ? openDatabase(database) : database;
    migrate(this._db, 'monitoring', migrations(_mergeWindows), versionInTable('monitoring_schema'));
    this._getWindow = this._db.prepare('SELECT state FROM monitor_windows WHERE model = ? AND start = ? AND version = ?');
    this._putWindow = this._db.prepare(
      `INSERT INTO monitor_windows (model, version, start, seconds, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (model, start, version) DO UPDATE SET state = excluded.state, seconds = excluded.seconds`
    );
    this._insertPrediction = this._db.prepare(
      `INSERT INTO monitor_predictions (${PREDICTION_COLUMNS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
    );
    this._insertPredictions = this._db.prepare(
      `INSERT INTO monitor_predictions (${PREDICTION_COLUMNS.join(', ')}) VALUES ${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`
    );
    this._getBlock = this._db.prepare('SELECT state FROM monitor_blocks WHERE model = ? AND start = ? AND version = ?');
    this._putBlock = this._db.prepare(
      `INSERT INTO monitor_blocks (model, version, start, state) VALUES (?, ?, ?, ?)
       ON CONFLICT (model, start, version) DO UPDATE SET state = excluded.state`
    );
    this._dropPartial = this._db.prepare('DELETE FROM monitor_partials WHERE model = ? AND version = ? AND start = ? AND replica = ?');
    this._noteWrite = this._db.prepare('INSERT INTO monitor_window_writes (model, version, start, replica, at) VALUES (?, ?, ?, ?, ?)');
    this._findPrediction = this._db.prepare('SELECT * FROM monitor_predictions WHERE model = ? AND key = ? AND labelled = 0 ORDER BY seq DESC LIMIT 1');
    this._markLabelled = this._db.prepare('UPDATE monitor_predictions SET labelled = 1 WHERE seq = ?');
  }

  async saveWindows(windows: readonly WindowState[]): Promise<void> {
    this._saveWindows(windows, this.replica);
  }

  /** Saves windows that `replica` served (this one's, or those of a replica that died). */
  private _saveWindows(windows: readonly WindowState[], replica: string): void {
    this._inTransaction(() => {
      for (const w of windows) {
        const stored = this._getWindow.get(w.model, w.start, w.modelVersion) as { state: string } | undefined;
        const state = stored ? this._mergeWindows(JSON.parse(stored.state) as WindowState, w) : w;
        this._putWindow.run(w.model, w.modelVersion, w.start, w.seconds, JSON.stringify(state));
        this._dropPartial.run(w.model, w.modelVersion, w.start, replica);
        this._noteWrite.run(w.model, w.modelVersion, w.start, replica, Date.now());
      }
      for (const added of blockAdditions(windows, this._mergeWindows)) {
        const start = blockStart(added.start);
        const stored = this._getBlock.get(added.model, start, added.modelVersion) as { state: string } | undefined;
        const state = mergedBlock(stored && (JSON.parse(stored.state) as WindowState), added, this._mergeWindows);
        this._putBlock.run(added.model, added.modelVersion, start, JSON.stringify(state));
      }
    });
  }

  async windowKeys(model: string, from: number, to: number): Promise<Array<{ version: number; start: number }>> {
    return this._db
      .prepare<[string, number, number], { version: number; start: number }>(
        'SELECT version, start FROM monitor_windows WHERE model = ? AND start < ? AND start + seconds * 1000 > ? ORDER BY start, version'
      )
      .all(model, to, from);
  }

  async loadWindow(model: string, version: number, start: number): Promise<WindowState | undefined> {
    const row = this._getWindow.get(model, start, version) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as WindowState) : undefined;
  }

  async loadBlocks(model: string, from: number, to: number): Promise<Array<{ block: number; state: WindowState }>> {
    return this._db
      .prepare<[string, number, number, number], { start: number; state: string }>(
        'SELECT start, state FROM monitor_blocks WHERE model = ? AND start >= ? AND start + ? <= ? ORDER BY start, version'
      )
      .all(model, from, BLOCK_SECONDS * 1000, to)
      .map((r) => ({ block: r.start, state: JSON.parse(r.state) as WindowState }));
  }

  async loadWindows(model: string, from: number, to: number): Promise<WindowState[]> {
    return this._db
      .prepare<[string, number, number], { state: string }>(
        'SELECT state FROM monitor_windows WHERE model = ? AND start < ? AND start + seconds * 1000 > ? ORDER BY start, version'
      )
      .all(model, to, from)
      .map((r) => JSON.parse(r.state) as WindowState);
  }

  async appendPredictions(rows: readonly PredictionRecord[]): Promise<void> {
    this._inTransaction(() => {
      // Many rows per INSERT: a statement run costs about as much as the B-tree work of a row.
      let i = 0;
      const values: Array<string | number | null> = [];
      for (; i + INSERT_ROWS <= rows.length; i += INSERT_ROWS) {
        values.length = 0;
        for (let j = i; j < i + INSERT_ROWS; j++) values.push(...predictionValues(rows[j]!));
        this._insertPredictions.run(values);
      }
      for (; i < rows.length; i++) this._insertPrediction.run(predictionValues(rows[i]!));
    });
  }

  async claimPredictions(model: string, keys: readonly string[]): Promise<Array<{ key: string; prediction: PredictionRecord }>> {
    return this._inTransaction(() => {
      const out: Array<{ key: string; prediction: PredictionRecord }> = [];
      for (const key of keys) {
        let row: PredictionRow | undefined;
        for (const logged of loggedKeysOf(key)) {
          row = this._findPrediction.get(model, logged) as PredictionRow | undefined;
          if (row) break;
        }
        if (!row) continue;
        this._markLabelled.run(row.seq);
        out.push({ key, prediction: toPrediction(row) });
      }
      return out;
    });
  }

  async updatePerformance(model: string, version: number, windowStart: number, update: (state: PerformanceState) => void): Promise<void> {
    this._inTransaction(() => {
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

  async loadPerformance(model: string, version: number, from: number, to: number): Promise<PerformanceState[]> {
    return this._db
      .prepare<[string, number, number, number], { state: string }>(
        'SELECT state FROM monitor_performance WHERE model = ? AND version = ? AND window_start >= ? AND window_start < ?'
      )
      .all(model, version, from, to)
      .map((r) => JSON.parse(r.state) as PerformanceState);
  }

  async loadDetector(model: string, version: number): Promise<DetectorRecord | undefined> {
    const row = this._db
      .prepare<[string, number], { state: string; detected_at: number | null }>('SELECT state, detected_at FROM monitor_detectors WHERE model = ? AND version = ?')
      .get(model, version);
    return row ? { state: JSON.parse(row.state), detectedAt: row.detected_at } : undefined;
  }

  async saveDetector(model: string, version: number, record: DetectorRecord): Promise<void> {
    this._db
      .prepare(
        `INSERT INTO monitor_detectors (model, version, state, detected_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model, version) DO UPDATE SET state = excluded.state, detected_at = excluded.detected_at`
      )
      .run(model, version, JSON.stringify(record.state), record.detectedAt);
  }

  async savePartials(windows: readonly WindowState[], now: number): Promise<void> {
    this._inTransaction(() => {
      this._db.prepare('DELETE FROM monitor_partials WHERE replica = ?').run(this.replica);
      const put = this._db.prepare('INSERT INTO monitor_partials (model, version, start, replica, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const w of windows) put.run(w.model, w.modelVersion, w.start, this.replica, JSON.stringify(w), now);
    });
  }

  async loadPartials(model: string, from: number, to: number): Promise<Array<{ state: WindowState; updatedAt: number }>> {
    return this._db
      .prepare<[string, string, number], { state: string; updated_at: number }>(
        'SELECT state, updated_at FROM monitor_partials WHERE model = ? AND replica != ? AND start < ? ORDER BY start, version'
      )
      .all(model, this.replica, to)
      .map((r) => ({ state: JSON.parse(r.state) as WindowState, updatedAt: r.updated_at }))
      .filter((p) => p.state.start + p.state.seconds * 1000 > from);
  }

  async partialModels(since: number): Promise<string[]> {
    return this._db
      .prepare<[string, number], { model: string }>('SELECT DISTINCT model FROM monitor_partials WHERE replica != ? AND updated_at >= ?')
      .all(this.replica, since)
      .map((r) => r.model);
  }

  async adoptPartials(before: number): Promise<number> {
    return this._inTransaction(() => {
      const stale = this._db
        .prepare<[number], { state: string; replica: string }>('DELETE FROM monitor_partials WHERE updated_at < ? RETURNING state, replica')
        .all(before);
      // Saved under the dead replica's name, so that every live one (this one too) reads them again.
      for (const r of stale) this._saveWindows([JSON.parse(r.state) as WindowState], r.replica);
      return stale.length;
    });
  }

  async windowWrites(after: number): Promise<{ writes: Array<{ model: string; version: number; start: number }>; last: number }> {
    const writes = this._db
      .prepare<[number, string], { seq: number; model: string; version: number; start: number }>(
        'SELECT seq, model, version, start FROM monitor_window_writes WHERE seq > ? AND replica != ? ORDER BY seq'
      )
      .all(after, this.replica);
    const last = this._db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM monitor_window_writes').get()?.seq ?? 0;
    return { writes: writes.map(({ model, version, start }) => ({ model, version, start })), last };
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    // One at a time: a second BEGIN on this connection would fail while the first is open.
    const run = this._transactions.then(() => this._runTransaction(fn));
    this._transactions = run.then(
      () => {},
      () => {}
    );
    return run;
  }

  private async _runTransaction<T>(fn: () => Promise<T>): Promise<T> {
    // IMMEDIATE: the write lock is taken (waiting up to busy_timeout) before anything is read.
    // A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    // another connection (the main thread's, or the monitoring worker's) wrote in between.
    // The store's own multi-statement writes nest in it as savepoints (better-sqlite3), and
    // so does whatever else uses this connection while `fn` awaits.
    this._db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn();
      this._db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this._db.inTransaction) this._db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Runs `fn` in one immediate transaction, or as a savepoint inside the one open. */
  private _inTransaction<T>(fn: () => T): T {
    return this._db.transaction(fn).immediate();
  }

  async prune(before: number, maxPredictions: number): Promise<void> {
    this._inTransaction(() => {
      this._db.prepare('DELETE FROM monitor_windows WHERE start + seconds * 1000 <= ?').run(before);
      // A block that began before the cut no longer describes its hour: its remaining windows are read one by one.
      this._db.prepare('DELETE FROM monitor_blocks WHERE start < ?').run(before);
      this._db.prepare('DELETE FROM monitor_performance WHERE window_start < ?').run(before);
      this._db.prepare('DELETE FROM monitor_partials WHERE start < ?').run(before);
      // Replicas read the writes log every few seconds: an hour of it is plenty.
      this._db.prepare('DELETE FROM monitor_window_writes WHERE at < ?').run(Date.now() - 3600_000);
      this._db.prepare('DELETE FROM monitor_predictions WHERE at < ?').run(before);
      const newest = this._db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM monitor_predictions').get()?.seq;
      if (newest != null) this._db.prepare('DELETE FROM monitor_predictions WHERE seq <= ?').run(newest - maxPredictions);
    });
  }

  /** Moves the write-ahead log's pages into the database file without waiting for readers (SQLite's PASSIVE checkpoint). */
  checkpoint(): void {
    this._db.pragma('wal_checkpoint(PASSIVE)');
  }

  async close(): Promise<void> {
    if (this._owned) this._db.close();
  }

  private _transactions: Promise<void> = Promise.resolve();
  private readonly _getWindow: Statement;
  private readonly _putWindow: Statement;
  private readonly _getBlock: Statement;
  private readonly _putBlock: Statement;
  private readonly _insertPrediction: Statement;
  private readonly _insertPredictions: Statement;
  private readonly _dropPartial: Statement;
  private readonly _noteWrite: Statement;
  private readonly _findPrediction: Statement;
  private readonly _markLabelled: Statement;
}
