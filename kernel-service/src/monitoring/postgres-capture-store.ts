/**
 * Captured requests on PostgreSQL, for replicas that share one database: the same tables and
 * behaviour as the SQLite capture store (capture-store.ts). The salt that personal-data hashes
 * are keyed with is made by the migration, which runs once for all replicas (under the
 * migration lock), so every replica hashes a value alike.
 */
import { randomBytes } from 'node:crypto';
import { type PostgresMigration, type PostgresPool, migratePostgres, transaction } from '../storage/postgres-database.js';
import { type CaptureQuery, type CaptureStore, type CapturedRequest, type CapturedRow, requestIdOf, toCapturedRequest } from './capture-store.js';

const MIGRATIONS: PostgresMigration[] = [
  async (client) => {
    await client.query(`CREATE TABLE captured_requests (
       seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       model TEXT NOT NULL,
       version INTEGER NOT NULL,
       request_id TEXT NOT NULL,
       at BIGINT NOT NULL,
       shadow BOOLEAN NOT NULL,
       rows INTEGER NOT NULL,
       latency_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
       expires_at BIGINT NOT NULL,
       inputs TEXT NOT NULL,
       outputs TEXT NOT NULL
     );
     CREATE INDEX captured_requests_by_time ON captured_requests(model, shadow, at);
     CREATE INDEX captured_requests_by_expiry ON captured_requests(expires_at);
     CREATE INDEX captured_requests_by_id ON captured_requests(model, request_id);
     CREATE TABLE captured_truth (
       model TEXT NOT NULL,
       key TEXT NOT NULL,
       request_id TEXT NOT NULL,
       truth TEXT NOT NULL,
       PRIMARY KEY (model, key)
     );
     -- One row: the key column can only be TRUE.
     CREATE TABLE capture_salt (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), salt BYTEA NOT NULL);`);
    await client.query('INSERT INTO capture_salt (salt) VALUES ($1)', [randomBytes(32)]);
  }
];

const COLUMNS =
  'c.model, c.version, c.request_id, c.at::float8 AS at, c.shadow, c.rows, c.latency_ms, c.expires_at::float8 AS expires_at, c.inputs, c.outputs';

export class PostgresCaptureStore implements CaptureStore {
  private constructor(private readonly _pool: PostgresPool) {}

  /** The store on the service's pool (closed by its owner), its tables migrated. */
  static async open(pool: PostgresPool): Promise<PostgresCaptureStore> {
    await migratePostgres(pool, 'capture', MIGRATIONS);
    return new PostgresCaptureStore(pool);
  }

  async append(requests: readonly CapturedRequest[]): Promise<void> {
    if (requests.length === 0) return;
    await this._pool.query(
      `INSERT INTO captured_requests (model, version, request_id, at, shadow, rows, latency_ms, expires_at, inputs, outputs)
       SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::boolean[], $6::integer[], $7::float8[], $8::bigint[], $9::text[], $10::text[])`,
      [
        requests.map((r) => r.model),
        requests.map((r) => r.version),
        requests.map((r) => r.requestId),
        requests.map((r) => r.at),
        requests.map((r) => r.shadow),
        requests.map((r) => r.rows),
        requests.map((r) => r.latencyMs),
        requests.map((r) => r.expiresAt),
        requests.map((r) => JSON.stringify(r.inputs)),
        requests.map((r) => JSON.stringify(r.outputs))
      ]
    );
  }

  async read(query: CaptureQuery): Promise<CapturedRequest[]> {
    const params: Array<string | number | boolean> = [query.model, query.shadow, query.from, query.to, query.maxRows];
    const version = query.version === undefined ? '' : ` AND version = $${params.push(query.version)}`;
    // Requests in order until they hold `maxRows` rows: each one whose rows before it are fewer.
    const { rows } = await this._pool.query<CapturedRow>(
      `WITH counted AS (
         SELECT seq, SUM(rows) OVER (ORDER BY at, seq) - rows AS before FROM captured_requests
         WHERE model = $1 AND shadow = $2 AND at >= $3 AND at < $4${version}
       )
       SELECT ${COLUMNS} FROM captured_requests c JOIN counted USING (seq) WHERE counted.before < $5 ORDER BY c.at, c.seq`,
      params
    );
    return rows.map(toCapturedRequest);
  }

  async recordTruth(model: string, items: ReadonlyArray<{ key: string; truth: unknown }>): Promise<void> {
    // The last truth given for a key counts (one statement cannot write a row twice).
    const byKey = new Map(items.map(({ key, truth }) => [key, JSON.stringify(truth ?? null)]));
    if (byKey.size === 0) return;
    const keys = [...byKey.keys()];
    await this._pool.query(
      `INSERT INTO captured_truth (model, key, request_id, truth)
       SELECT $1, t.key, t.request_id, t.truth FROM unnest($2::text[], $3::text[], $4::text[]) AS t(key, request_id, truth)
       WHERE EXISTS (SELECT 1 FROM captured_requests c WHERE c.model = $1 AND c.request_id = t.request_id)
       ON CONFLICT (model, key) DO UPDATE SET truth = excluded.truth`,
      [model, keys, keys.map(requestIdOf), [...byKey.values()]]
    );
  }

  async truthOf(model: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    const { rows } = await this._pool.query<{ key: string; truth: string }>('SELECT key, truth FROM captured_truth WHERE model = $1 AND key = ANY($2::text[])', [model, [...keys]]);
    const found = new Map(rows.map((r) => [r.key, JSON.parse(r.truth) as unknown]));
    // In the order asked, as the SQLite store answers.
    const out = new Map<string, unknown>();
    for (const key of keys) if (found.has(key)) out.set(key, found.get(key));
    return out;
  }

  prune(now: number): Promise<number> {
    return transaction(this._pool, async (client) => {
      const dropped = (await client.query('DELETE FROM captured_requests WHERE expires_at < $1', [now])).rowCount ?? 0;
      if (dropped > 0) {
        await client.query(
          'DELETE FROM captured_truth t WHERE NOT EXISTS (SELECT 1 FROM captured_requests c WHERE c.model = t.model AND c.request_id = t.request_id)'
        );
      }
      return dropped;
    });
  }

  async salt(): Promise<Buffer> {
    if (!this._salt) {
      const { rows } = await this._pool.query<{ salt: Buffer }>('SELECT salt FROM capture_salt');
      this._salt = rows[0]!.salt;
    }
    return this._salt;
  }

  private _salt: Buffer | null = null;
}
