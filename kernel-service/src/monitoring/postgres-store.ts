/**
 * The monitoring store on PostgreSQL, for replicas that share one database: the same tables and
 * behaviour as the SQLite store (store.ts), on the service's pool.
 *
 * `transaction(fn)` runs `fn` on one pooled client between BEGIN and COMMIT (ROLLBACK when it
 * throws); the store calls `fn` makes run on that client (AsyncLocalStorage carries it through
 * `fn`'s awaits), calls from elsewhere on the pool. A store's transactions run one at a time,
 * in the order asked (the feedback join relies on it: it runs after the flush asked for
 * before it). Across replicas, what reads a stored state and writes it back (a window merged
 * with the one stored, the hour block, performance, the detector of a feedback join) holds a
 * transaction-scoped advisory lock per model, so two replicas never merge over each other;
 * claimed predictions are locked rows (FOR UPDATE SKIP LOCKED), so none is claimed twice.
 *
 * Times are BIGINT milliseconds, read back as numbers (`::float8`, exact below 2^53).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type PostgresClient,
  type PostgresMigration,
  type PostgresPool,
  type PostgresQueryable,
  migratePostgres,
  transaction
} from '../storage/postgres-database.js';
import { type PerformanceState, emptyPerformance } from './accumulators.js';
import { type DetectorRecord, type MonitoringStore, type PredictionRecord, newReplicaId } from './monitoring-store.js';
import { PREDICTION_COLUMNS, type PredictionRow, loggedKeysOf, predictionValues, toPrediction } from './prediction-rows.js';
import { BLOCK_SECONDS, type MergeWindows, blockAdditions, blockStart, mergedBlock } from './window-blocks.js';
import type { WindowState } from './window.js';

const MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE monitor_windows (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     start BIGINT NOT NULL,
     seconds INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (model, start, version)
   );
   CREATE TABLE monitor_blocks (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     start BIGINT NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (model, start, version)
   );
   CREATE TABLE monitor_predictions (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     key TEXT NOT NULL,
     version INTEGER NOT NULL,
     window_start BIGINT NOT NULL,
     label TEXT,
     score DOUBLE PRECISION,
     value DOUBLE PRECISION,
     at BIGINT NOT NULL,
     labelled BOOLEAN NOT NULL DEFAULT FALSE
   );
   CREATE INDEX monitor_predictions_by_key ON monitor_predictions(model, key);
   CREATE TABLE monitor_performance (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     window_start BIGINT NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (model, version, window_start)
   );
   CREATE TABLE monitor_detectors (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     state TEXT NOT NULL,
     detected_at BIGINT,
     PRIMARY KEY (model, version)
   );
   CREATE TABLE monitor_partials (
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     start BIGINT NOT NULL,
     replica TEXT NOT NULL,
     state TEXT NOT NULL,
     updated_at BIGINT NOT NULL,
     PRIMARY KEY (model, version, start, replica)
   );
   -- xid: the writing transaction, so that a reader can tell which writes may still commit
   -- (identity values are taken in one order and committed in another).
   CREATE TABLE monitor_window_writes (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     start BIGINT NOT NULL,
     replica TEXT NOT NULL,
     at BIGINT NOT NULL,
     xid XID8 NOT NULL DEFAULT pg_current_xact_id()
   );`
];

// The class of the per-model advisory locks (two-int form: "nbdm"), the model's hashtext the other half.
const MODEL_LOCK_CLASS = 0x6e62646d;

const PREDICTION_SELECT = 'seq::float8 AS seq, model, key, version, window_start::float8 AS window_start, label, score, value, at::float8 AS at';

export class PostgresMonitoringStore implements MonitoringStore {
  private constructor(
    private readonly _pool: PostgresPool,
    private readonly _mergeWindows: MergeWindows,
    readonly replica: string
  ) {}

  /** The store on the service's pool (closed by its owner), its tables migrated; `replica` names this process among the service's replicas. */
  static async open(pool: PostgresPool, mergeWindows: MergeWindows, replica: string = newReplicaId()): Promise<PostgresMonitoringStore> {
    await migratePostgres(pool, 'monitoring', MIGRATIONS);
    return new PostgresMonitoringStore(pool, mergeWindows, replica);
  }

  saveWindows(windows: readonly WindowState[]): Promise<void> {
    return this._write((client) => this._saveWindows(client, windows, this.replica));
  }

  /** Saves windows that `replica` served (this one's, or those of a replica that died). */
  private async _saveWindows(client: PostgresClient, windows: readonly WindowState[], replica: string): Promise<void> {
    if (windows.length === 0) return;
    await lockModels(client, windows.map((w) => w.model));
    for (const w of windows) {
      const stored = await client.query<{ state: string }>('SELECT state FROM monitor_windows WHERE model = $1 AND start = $2 AND version = $3', [w.model, w.start, w.modelVersion]);
      const state = stored.rows[0] ? this._mergeWindows(JSON.parse(stored.rows[0].state) as WindowState, w) : w;
      await client.query(
        `INSERT INTO monitor_windows (model, version, start, seconds, state) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model, start, version) DO UPDATE SET state = excluded.state, seconds = excluded.seconds`,
        [w.model, w.modelVersion, w.start, w.seconds, JSON.stringify(state)]
      );
      await client.query('DELETE FROM monitor_partials WHERE model = $1 AND version = $2 AND start = $3 AND replica = $4', [w.model, w.modelVersion, w.start, replica]);
      await client.query('INSERT INTO monitor_window_writes (model, version, start, replica, at) VALUES ($1, $2, $3, $4, $5)', [
        w.model,
        w.modelVersion,
        w.start,
        replica,
        Date.now()
      ]);
    }
    for (const added of blockAdditions(windows, this._mergeWindows)) {
      const start = blockStart(added.start);
      const stored = await client.query<{ state: string }>('SELECT state FROM monitor_blocks WHERE model = $1 AND start = $2 AND version = $3', [added.model, start, added.modelVersion]);
      const state = mergedBlock(stored.rows[0] && (JSON.parse(stored.rows[0].state) as WindowState), added, this._mergeWindows);
      await client.query(
        `INSERT INTO monitor_blocks (model, version, start, state) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, start, version) DO UPDATE SET state = excluded.state`,
        [added.model, added.modelVersion, start, JSON.stringify(state)]
      );
    }
  }

  async windowKeys(model: string, from: number, to: number): Promise<Array<{ version: number; start: number }>> {
    const { rows } = await this._db().query<{ version: number; start: number }>(
      'SELECT version, start::float8 AS start FROM monitor_windows WHERE model = $1 AND start < $2 AND start + seconds * 1000 > $3 ORDER BY start, version',
      [model, to, from]
    );
    return rows;
  }

  async loadWindow(model: string, version: number, start: number): Promise<WindowState | undefined> {
    const { rows } = await this._db().query<{ state: string }>('SELECT state FROM monitor_windows WHERE model = $1 AND start = $2 AND version = $3', [model, start, version]);
    return rows[0] ? (JSON.parse(rows[0].state) as WindowState) : undefined;
  }

  async loadBlocks(model: string, from: number, to: number): Promise<Array<{ block: number; state: WindowState }>> {
    const { rows } = await this._db().query<{ start: number; state: string }>(
      'SELECT start::float8 AS start, state FROM monitor_blocks WHERE model = $1 AND start >= $2 AND start + $3 <= $4 ORDER BY start, version',
      [model, from, BLOCK_SECONDS * 1000, to]
    );
    return rows.map((r) => ({ block: r.start, state: JSON.parse(r.state) as WindowState }));
  }

  async loadWindows(model: string, from: number, to: number): Promise<WindowState[]> {
    const { rows } = await this._db().query<{ state: string }>(
      'SELECT state FROM monitor_windows WHERE model = $1 AND start < $2 AND start + seconds * 1000 > $3 ORDER BY start, version',
      [model, to, from]
    );
    return rows.map((r) => JSON.parse(r.state) as WindowState);
  }

  async appendPredictions(rows: readonly PredictionRecord[]): Promise<void> {
    if (rows.length === 0) return;
    // One INSERT of every row: a column per array (unnest keeps their order, so seq follows the rows).
    const columns: Array<Array<string | number | null>> = PREDICTION_COLUMNS.map(() => []);
    for (const r of rows) predictionValues(r).forEach((v, i) => columns[i]!.push(v));
    await this._db().query(
      `INSERT INTO monitor_predictions (${PREDICTION_COLUMNS.join(', ')})
       SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::float8[], $7::float8[], $8::bigint[])`,
      columns
    );
  }

  claimPredictions(model: string, keys: readonly string[]): Promise<Array<{ key: string; prediction: PredictionRecord }>> {
    return this._write(async (client) => {
      if (keys.length === 0) return [];
      // The model's feedback joins run one replica at a time (the detector is read, updated and written back).
      await lockModels(client, [model]);
      const wanted = [...new Set(keys.flatMap(loggedKeysOf))];
      const { rows } = await client.query<PredictionRow>(
        `SELECT ${PREDICTION_SELECT} FROM monitor_predictions WHERE model = $1 AND key = ANY($2::text[]) AND NOT labelled
         ORDER BY seq DESC FOR UPDATE SKIP LOCKED`,
        [model, wanted]
      );
      // Newest first per logged key; each asked key takes the newest row of its first logged key that has one left.
      const byKey = new Map<string, PredictionRow[]>();
      for (const row of rows) {
        let list = byKey.get(row.key);
        if (!list) byKey.set(row.key, (list = []));
        list.push(row);
      }
      const out: Array<{ key: string; prediction: PredictionRecord }> = [];
      const claimed: number[] = [];
      for (const key of keys) {
        const row = loggedKeysOf(key)
          .map((logged) => byKey.get(logged))
          .find((list) => list !== undefined && list.length > 0)
          ?.shift();
        if (!row) continue;
        claimed.push(row.seq);
        out.push({ key, prediction: toPrediction(row) });
      }
      if (claimed.length > 0) await client.query('UPDATE monitor_predictions SET labelled = TRUE WHERE seq = ANY($1::bigint[])', [claimed]);
      return out;
    });
  }

  updatePerformance(model: string, version: number, windowStart: number, update: (state: PerformanceState) => void): Promise<void> {
    return this._write(async (client) => {
      await lockModels(client, [model]);
      const { rows } = await client.query<{ state: string }>('SELECT state FROM monitor_performance WHERE model = $1 AND version = $2 AND window_start = $3', [
        model,
        version,
        windowStart
      ]);
      const state = rows[0] ? (JSON.parse(rows[0].state) as PerformanceState) : emptyPerformance();
      update(state);
      await client.query(
        `INSERT INTO monitor_performance (model, version, window_start, state) VALUES ($1, $2, $3, $4)
         ON CONFLICT (model, version, window_start) DO UPDATE SET state = excluded.state`,
        [model, version, windowStart, JSON.stringify(state)]
      );
    });
  }

  async loadPerformance(model: string, version: number, from: number, to: number): Promise<PerformanceState[]> {
    const { rows } = await this._db().query<{ state: string }>(
      'SELECT state FROM monitor_performance WHERE model = $1 AND version = $2 AND window_start >= $3 AND window_start < $4',
      [model, version, from, to]
    );
    return rows.map((r) => JSON.parse(r.state) as PerformanceState);
  }

  async loadDetector(model: string, version: number): Promise<DetectorRecord | undefined> {
    const { rows } = await this._db().query<{ state: string; detected_at: number | null }>(
      'SELECT state, detected_at::float8 AS detected_at FROM monitor_detectors WHERE model = $1 AND version = $2',
      [model, version]
    );
    return rows[0] ? { state: JSON.parse(rows[0].state), detectedAt: rows[0].detected_at } : undefined;
  }

  async saveDetector(model: string, version: number, record: DetectorRecord): Promise<void> {
    await this._db().query(
      `INSERT INTO monitor_detectors (model, version, state, detected_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model, version) DO UPDATE SET state = excluded.state, detected_at = excluded.detected_at`,
      [model, version, JSON.stringify(record.state), record.detectedAt]
    );
  }

  savePartials(windows: readonly WindowState[], now: number): Promise<void> {
    return this._write(async (client) => {
      await client.query('DELETE FROM monitor_partials WHERE replica = $1', [this.replica]);
      if (windows.length === 0) return;
      await client.query(
        `INSERT INTO monitor_partials (model, version, start, replica, state, updated_at)
         SELECT model, version, start, $4, state, $5 FROM unnest($1::text[], $2::integer[], $3::bigint[], $6::text[]) AS w(model, version, start, state)`,
        [windows.map((w) => w.model), windows.map((w) => w.modelVersion), windows.map((w) => w.start), this.replica, now, windows.map((w) => JSON.stringify(w))]
      );
    });
  }

  async loadPartials(model: string, from: number, to: number): Promise<Array<{ state: WindowState; updatedAt: number }>> {
    const { rows } = await this._db().query<{ state: string; updated_at: number }>(
      'SELECT state, updated_at::float8 AS updated_at FROM monitor_partials WHERE model = $1 AND replica <> $2 AND start < $3 ORDER BY start, version',
      [model, this.replica, to]
    );
    return rows.map((r) => ({ state: JSON.parse(r.state) as WindowState, updatedAt: r.updated_at })).filter((p) => p.state.start + p.state.seconds * 1000 > from);
  }

  async partialModels(since: number): Promise<string[]> {
    const { rows } = await this._db().query<{ model: string }>('SELECT DISTINCT model FROM monitor_partials WHERE replica <> $1 AND updated_at >= $2', [this.replica, since]);
    return rows.map((r) => r.model);
  }

  adoptPartials(before: number): Promise<number> {
    return this._write(async (client) => {
      // Deleted by whichever replica asks first: one that asks at the same time waits for the rows, then finds them gone.
      const { rows } = await client.query<{ state: string; replica: string }>('DELETE FROM monitor_partials WHERE updated_at < $1 RETURNING state, replica', [before]);
      const windows = rows.map((r) => ({ state: JSON.parse(r.state) as WindowState, replica: r.replica }));
      // Every model locked at once (in one order), then saved under the dead replica's name, so that every live one (this one too) reads them again.
      await lockModels(
        client,
        windows.map((w) => w.state.model)
      );
      for (const w of windows) await this._saveWindows(client, [w.state], w.replica);
      return rows.length;
    });
  }

  async windowWrites(after: number): Promise<{ writes: Array<{ model: string; version: number; start: number }>; last: number }> {
    // `last` is the oldest transaction that may still commit: every write of an older one is
    // visible now, and a younger one's is found next time (a write can be seen twice, never missed).
    const db = this._db();
    const horizon = await db.query<{ last: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS last');
    const { rows } = await db.query<{ model: string; version: number; start: number }>(
      'SELECT model, version, start::float8 AS start FROM monitor_window_writes WHERE xid >= $1::text::xid8 AND replica <> $2 ORDER BY seq',
      [String(after), this.replica]
    );
    return { writes: rows, last: Number(horizon.rows[0]!.last) };
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    // Inside one already (a call `fn` makes): part of it.
    if (this._client.getStore()) return fn();
    const run = this._transactions.then(() => transaction(this._pool, (client) => this._client.run(client, fn)));
    this._transactions = run.then(
      () => {},
      () => {}
    );
    return run;
  }

  async prune(before: number, maxPredictions: number): Promise<void> {
    await this._write(async (client) => {
      await client.query('DELETE FROM monitor_windows WHERE start + seconds * 1000 <= $1', [before]);
      // A block that began before the cut no longer describes its hour: its remaining windows are read one by one.
      await client.query('DELETE FROM monitor_blocks WHERE start < $1', [before]);
      await client.query('DELETE FROM monitor_performance WHERE window_start < $1', [before]);
      await client.query('DELETE FROM monitor_partials WHERE start < $1', [before]);
      // Replicas read the writes log every few seconds: an hour of it is plenty.
      await client.query('DELETE FROM monitor_window_writes WHERE at < $1', [Date.now() - 3600_000]);
      await client.query('DELETE FROM monitor_predictions WHERE at < $1', [before]);
      await client.query('DELETE FROM monitor_predictions WHERE seq <= (SELECT MAX(seq) FROM monitor_predictions) - $1', [maxPredictions]);
    });
  }

  /** Waits for the transactions asked for; the pool is its owner's to close. */
  async close(): Promise<void> {
    await this._transactions;
  }

  /** Where a call runs: the open transaction's client (a call `fn` of `transaction` makes), else the pool. */
  private _db(): PostgresQueryable {
    return this._client.getStore() ?? this._pool;
  }

  /** Runs `fn` on the open transaction's client, or in a transaction of its own. */
  private _write<T>(fn: (client: PostgresClient) => Promise<T>): Promise<T> {
    const client = this._client.getStore();
    return client ? fn(client) : transaction(this._pool, fn);
  }

  private readonly _client = new AsyncLocalStorage<PostgresClient>();
  private _transactions: Promise<void> = Promise.resolve();
}

/** Takes the advisory locks of these models until the transaction ends, in one order (so that two transactions cannot wait on each other). */
async function lockModels(client: PostgresClient, models: readonly string[]): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, k) FROM (SELECT DISTINCT hashtext(m) AS k FROM unnest($2::text[]) AS m ORDER BY k) AS keys', [
    MODEL_LOCK_CLASS,
    [...new Set(models)]
  ]);
}
