/**
 * Users and their tokens in the service's SQLite database (the registry's file). The
 * `nbdeploy users` command writes the same file as a running service (WAL), and the service
 * looks a token up on every request, so a revoke takes effect at once. Changes are audited
 * in the registry's hash-chained audit log.
 */
import type { Statement } from 'better-sqlite3';
import { ServiceError } from '../errors.js';
import { SqliteAuditLog } from '../registry/audit-log.js';
import type { Actor } from '../registry/registry.js';
import { type Migration, type SqliteDatabase, migrate } from '../storage/sqlite-database.js';
import { ROLES } from './roles.js';
import { hashToken, newToken, sameHash } from './tokens.js';
import { type NewUser, SERVICE_USER, type User, type UserStore } from './user-store.js';
import { type UserRow, checkNewUser, checkRevocable, checkTokenHolder, toUser } from './user-rules.js';

const MIGRATIONS: Migration[] = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN (${ROLES.map((r) => `'${r}'`).join(', ')})),
     models TEXT,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE TABLE tokens (
     hash BLOB PRIMARY KEY,
     user TEXT NOT NULL REFERENCES users(name),
     label TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX tokens_by_user ON tokens(user);
   -- The service's own token (serve --token) is not stored: the service compares it itself.
   INSERT INTO users (name, role, created_at, created_by) VALUES ('${SERVICE_USER}', 'admin', strftime('%Y-%m-%dT%H:%M:%fZ'), 'nbdeploy');`
];

/** Tokens kept found at most (past it the memory starts again). */
const MAX_REMEMBERED_TOKENS = 1024;

const USER_QUERY = `SELECT u.*, (SELECT COUNT(*) FROM tokens t WHERE t.user = u.name) AS tokens FROM users u`;

export class SqliteUserStore implements UserStore {
  /** The shared connection of the service or the CLI (closed by its owner); the registry has migrated the audit log on it. */
  constructor(private readonly _db: SqliteDatabase) {
    migrate(_db, 'users', MIGRATIONS);
    this._audit = new SqliteAuditLog(_db);
    this._byToken = _db.prepare<[Buffer], UserRow & { hash: Buffer }>(
      'SELECT t.hash, u.*, 0 AS tokens FROM tokens t JOIN users u ON u.name = t.user WHERE t.hash = ? AND u.revoked_at IS NULL'
    );
    this._dataVersion = _db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  async addUser(user: NewUser, actor: Actor): Promise<User> {
    return this._addUser(user, actor);
  }

  private _addUser(user: NewUser, actor: Actor): User {
    checkNewUser(user);
    return this._db.transaction(() => {
      const existing = this._getUser(user.name);
      if (existing) throw new ServiceError('NBD_ERR_USER_EXISTS', { user: user.name, role: existing.role });
      const models = user.models && user.models.length > 0 ? JSON.stringify(user.models) : null;
      this._db
        .prepare('INSERT INTO users (name, role, models, created_at, created_by) VALUES (?, ?, ?, ?, ?)')
        .run(user.name, user.role, models, new Date().toISOString(), actor.user);
      this._audit.append(actor, 'user_add', null, null, { user: user.name, role: user.role, ...(models ? { models: user.models } : {}) });
      return this._getUser(user.name)!;
    }).immediate();
  }

  async ensureUser(user: NewUser, actor: Actor): Promise<User> {
    return this._db.transaction(() => this._getUser(user.name) ?? this._addUser(user, actor)).immediate();
  }

  async getUser(name: string): Promise<User | undefined> {
    return this._getUser(name);
  }

  private _getUser(name: string): User | undefined {
    const row = this._db.prepare<[string], UserRow>(`${USER_QUERY} WHERE u.name = ?`).get(name);
    return row ? toUser(row) : undefined;
  }

  async listUsers(): Promise<User[]> {
    return this._db.prepare<[], UserRow>(`${USER_QUERY} ORDER BY u.name`).all().map(toUser);
  }

  async issueToken(name: string, label: string, actor: Actor): Promise<string> {
    return this._db.transaction(() => {
      checkTokenHolder(name, this._getUser(name));
      const token = newToken();
      this._db.prepare('INSERT INTO tokens (hash, user, label, created_at) VALUES (?, ?, ?, ?)').run(hashToken(token), name, label, new Date().toISOString());
      this._audit.append(actor, 'token_issue', null, null, { user: name, label });
      return token;
    }).immediate();
  }

  async revokeUser(name: string, actor: Actor): Promise<User> {
    checkRevocable(name);
    return this._db.transaction(() => {
      const user = this._getUser(name);
      if (!user) throw new ServiceError('NBD_ERR_USER_NOT_FOUND', { user: name });
      if (user.revokedAt) return user;
      this._db.prepare('UPDATE users SET revoked_at = ? WHERE name = ?').run(new Date().toISOString(), name);
      this._found.clear();
      this._audit.append(actor, 'user_revoke', null, null, { user: name, tokens: user.tokens });
      return this._getUser(name)!;
    }).immediate();
  }

  /**
   * One indexed read per request, skipped while nothing changed: tokens found are kept until
   * the database changes — SQLite's data_version moves with every commit from another
   * connection (`nbdeploy users revoke`), and this store's own changes clear them — so a
   * revoke counts from the next request on.
   */
  async userOfToken(token: string): Promise<User | undefined> {
    const hash = hashToken(token);
    const version = this._dataVersion.get();
    if (version !== this._seenVersion) {
      this._found.clear();
      this._seenVersion = version;
    }
    const key = hash.toString('base64');
    const cached = this._found.get(key);
    if (cached) return cached.hash && sameHash(cached.hash, hash) ? cached.user : undefined;
    const row = this._byToken.get(hash);
    if (!row || !sameHash(row.hash, hash)) return undefined;
    const user = toUser(row);
    if (this._found.size >= MAX_REMEMBERED_TOKENS) this._found.clear();
    this._found.set(key, { hash: row.hash, user });
    return user;
  }

  private readonly _audit: SqliteAuditLog;
  private readonly _dataVersion: Statement<[], number>;
  private _seenVersion: number | undefined;
  private readonly _found = new Map<string, { hash: Buffer; user: User }>();
  private readonly _byToken: Statement<[Buffer], UserRow & { hash: Buffer }>;
}
