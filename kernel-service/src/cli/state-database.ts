/**
 * The state dir's database, opened by a command directly (`users`, `audit verify`): the same
 * file a running service uses (WAL lets both write), migrated as the service would migrate it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { DEFAULT_OPTIONS } from '../options.js';
import { SqliteUserStore } from '../people/sqlite-user-store.js';
import type { UserStore } from '../people/user-store.js';
import type { Actor } from '../registry/registry.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { DATABASE_FILE, type SqliteDatabase, openDatabase } from '../storage/sqlite-database.js';
import { UsageError } from './command.js';

export interface StateDatabase {
  db: SqliteDatabase;
  users: UserStore;
  close(): void;
}

/** Opens DIR's database; `create` makes the state dir and the database when there is none yet (mode 0700, as the service does). */
export function openStateDatabase(stateDirOption: string | undefined, create = false): StateDatabase {
  const stateDir = path.resolve(stateDirOption ?? DEFAULT_OPTIONS.stateDir);
  const file = path.join(stateDir, DATABASE_FILE);
  if (!existsSync(file)) {
    if (!create) throw new UsageError(`no nbdeploy database in ${stateDir} (${DATABASE_FILE}); give the state dir with --state-dir`);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  }
  const db = openDatabase(file);
  try {
    // Migrated as the service would (users' changes go to the registry's audit log); the shared connection stays open.
    new SqliteRegistry(db);
    return { db, users: new SqliteUserStore(db), close: () => db.close() };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Who changes the database from the command line: the operating-system user. */
export function commandLineActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // (no passwd entry: a container's arbitrary uid)
  }
  return { user: `cli:${name}` };
}
