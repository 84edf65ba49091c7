/**
 * Where replays are kept on PostgreSQL, for replicas that share one database: the same table as
 * the SQLite store (replay-store.ts; component `replay`), so a deploy through any replica is
 * gated on the latest replay made through any other.
 */
import { type PostgresMigration, type PostgresPool, migratePostgres } from '../storage/postgres-database.js';
import { type ReplayRow, type ReplayStore, type StoredReplay, fromReplayRow, replayRow } from './replay-store.js';

const MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE replays (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     summary TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE INDEX replays_by_version ON replays(model, version, id);`
];

export class PostgresReplayStore implements ReplayStore {
  private constructor(private readonly _pool: PostgresPool) {}

  /** The store on the service's pool (ended by its owner), its table migrated. */
  static async open(pool: PostgresPool): Promise<PostgresReplayStore> {
    await migratePostgres(pool, 'replay', MIGRATIONS);
    return new PostgresReplayStore(pool);
  }

  async save(replay: Omit<StoredReplay, 'id' | 'createdAt'>): Promise<StoredReplay> {
    const row = replayRow(replay);
    const { rows } = await this._pool.query<{ id: number }>(
      'INSERT INTO replays (model, version, summary, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [replay.model, replay.version, row.summary, row.created_at, row.created_by]
    );
    return { ...replay, id: rows[0]!.id, createdAt: row.created_at };
  }

  async latest(model: string, version: number): Promise<StoredReplay | undefined> {
    const { rows } = await this._pool.query<ReplayRow>(
      'SELECT id, summary, created_at, created_by FROM replays WHERE model = $1 AND version = $2 ORDER BY id DESC LIMIT 1',
      [model, version]
    );
    return rows[0] ? fromReplayRow(rows[0]) : undefined;
  }
}
