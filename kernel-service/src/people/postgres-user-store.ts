/**
 * Users and their tokens on PostgreSQL, shared by replicas: the same tables and behaviour as
 * sqlite-user-store.ts. A token is looked up on every request with one indexed read, uncached,
 * so that a revoke through any replica counts from the next request on every replica. Changes
 * are audited in the hash-chained audit log, in the same write transaction.
 */
import { ServiceError } from '../errors.js';
import { PostgresAuditLog } from '../registry/postgres-audit-log.js';
import type { Actor } from '../registry/registry.js';
import { type PostgresClient, type PostgresMigration, type PostgresPool, type PostgresQueryable, migratePostgres, writeTransaction } from '../storage/postgres-database.js';
import { ROLES } from './roles.js';
import { hashToken, newToken, sameHash } from './tokens.js';
import { type UserRow, checkNewUser, checkRevocable, checkTokenHolder, toUser } from './user-rules.js';
import { type NewUser, SERVICE_USER, type User, type UserStore } from './user-store.js';

const MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN (${ROLES.map((r) => `'${r}'`).join(', ')})),
     models TEXT,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE TABLE tokens (
     hash BYTEA PRIMARY KEY,
     "user" TEXT NOT NULL REFERENCES users(name),
     label TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX tokens_by_user ON tokens("user");
   -- The service's own token (serve --token) is not stored: the service compares it itself.
   INSERT INTO users (name, role, created_at, created_by)
     VALUES ('${SERVICE_USER}', 'admin', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'nbdeploy');`
];

const USER_QUERY = `SELECT u.*, (SELECT COUNT(*) FROM tokens t WHERE t."user" = u.name)::int AS tokens FROM users u`;

export class PostgresUserStore implements UserStore {
  private constructor(
    private readonly _pool: PostgresPool,
    private readonly _audit: PostgresAuditLog
  ) {}

  /** The store on the service's pool (ended by its owner), its tables and the audit log's migrated. */
  static async open(pool: PostgresPool): Promise<PostgresUserStore> {
    const audit = await PostgresAuditLog.open(pool);
    await migratePostgres(pool, 'users', MIGRATIONS);
    return new PostgresUserStore(pool, audit);
  }

  addUser(user: NewUser, actor: Actor): Promise<User> {
    checkNewUser(user);
    return writeTransaction(this._pool, (client) => this._add(client, user, actor));
  }

  ensureUser(user: NewUser, actor: Actor): Promise<User> {
    return writeTransaction(this._pool, async (client) => (await userOf(client, user.name)) ?? (checkNewUser(user), await this._add(client, user, actor)));
  }

  getUser(name: string): Promise<User | undefined> {
    return userOf(this._pool, name);
  }

  async listUsers(): Promise<User[]> {
    const { rows } = await this._pool.query<UserRow>(`${USER_QUERY} ORDER BY u.name`);
    return rows.map(toUser);
  }

  issueToken(name: string, label: string, actor: Actor): Promise<string> {
    return writeTransaction(this._pool, async (client) => {
      checkTokenHolder(name, await userOf(client, name));
      const token = newToken();
      await client.query('INSERT INTO tokens (hash, "user", label, created_at) VALUES ($1, $2, $3, $4)', [hashToken(token), name, label, new Date().toISOString()]);
      await this._audit.append(client, actor, 'token_issue', null, null, { user: name, label });
      return token;
    });
  }

  revokeUser(name: string, actor: Actor): Promise<User> {
    checkRevocable(name);
    return writeTransaction(this._pool, async (client) => {
      const user = await userOf(client, name);
      if (!user) throw new ServiceError('NBD_ERR_USER_NOT_FOUND', { user: name });
      if (user.revokedAt) return user;
      await client.query('UPDATE users SET revoked_at = $1 WHERE name = $2', [new Date().toISOString(), name]);
      await this._audit.append(client, actor, 'user_revoke', null, null, { user: name, tokens: user.tokens });
      return (await userOf(client, name))!;
    });
  }

  async userOfToken(token: string): Promise<User | undefined> {
    const hash = hashToken(token);
    const { rows } = await this._pool.query<UserRow & { hash: Buffer }>(
      'SELECT t.hash, u.*, 0 AS tokens FROM tokens t JOIN users u ON u.name = t."user" WHERE t.hash = $1 AND u.revoked_at IS NULL',
      [hash]
    );
    const row = rows[0];
    return row && sameHash(row.hash, hash) ? toUser(row) : undefined;
  }

  private async _add(client: PostgresClient, user: NewUser, actor: Actor): Promise<User> {
    const existing = await userOf(client, user.name);
    if (existing) throw new ServiceError('NBD_ERR_USER_EXISTS', { user: user.name, role: existing.role });
    const models = user.models && user.models.length > 0 ? JSON.stringify(user.models) : null;
    await client.query('INSERT INTO users (name, role, models, created_at, created_by) VALUES ($1, $2, $3, $4, $5)', [
      user.name,
      user.role,
      models,
      new Date().toISOString(),
      actor.user
    ]);
    await this._audit.append(client, actor, 'user_add', null, null, { user: user.name, role: user.role, ...(models ? { models: user.models } : {}) });
    return (await userOf(client, user.name))!;
  }
}

async function userOf(db: PostgresQueryable, name: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`${USER_QUERY} WHERE u.name = $1`, [name]);
  return rows[0] ? toUser(rows[0]) : undefined;
}
