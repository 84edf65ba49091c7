/**
 * What one service keeps its state in, picked from where the state lives: the embedded SQLite
 * file in the state dir (one connection on the main thread for the registry, the users, the
 * replays and the alerts; artifacts in a folder beside it), or a PostgreSQL database that
 * replicas on other machines share (`serve --database`: one pool for all of them; artifacts
 * in the database, with a local cache in the state dir).
 */
import path from 'node:path';
import { type AlertStore, SqliteAlertStore } from '../monitoring/alert-store.js';
import { SqliteCaptureStore } from '../monitoring/capture-store.js';
import { PostgresAlertStore } from '../monitoring/postgres-alert-store.js';
import { SqliteMonitoringStore } from '../monitoring/store.js';
import { mergeWindowStates } from '../monitoring/window.js';
import { PostgresUserStore } from '../people/postgres-user-store.js';
import { SqliteUserStore } from '../people/sqlite-user-store.js';
import type { UserStore } from '../people/user-store.js';
import { type ArtifactStore, FolderArtifactStore } from '../registry/artifact-store.js';
import { PostgresArtifactStore } from '../registry/postgres-artifact-store.js';
import { PostgresRegistry } from '../registry/postgres-registry.js';
import type { Registry } from '../registry/registry.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { PostgresReplayStore } from '../replay/postgres-replay-store.js';
import { type ReplayStore, SqliteReplayStore } from '../replay/replay-store.js';
import type { DatabaseLocation } from './database-location.js';
import { PostgresChangeListener } from './postgres-changes.js';
import { type PostgresPool, openPostgres } from './postgres-database.js';
import { DATABASE_FILE, openDatabase } from './sqlite-database.js';

/** The folder of artifacts in a state dir (SQLite), or of the local cache of the database's artifacts (PostgreSQL). */
export const ARTIFACTS_DIR = 'artifacts';

export interface ServiceStorage {
  /** Where the state lives, as given to threads that open their own connections (the monitoring worker). */
  readonly location: DatabaseLocation;
  readonly registry: Registry;
  readonly users: UserStore;
  readonly artifacts: ArtifactStore;
  readonly replays: ReplayStore;
  /** Rules, webhooks, alert history and the alert lead; absent without monitoring. */
  readonly alerts: AlertStore | undefined;
  /**
   * Tells `onChange` each time another replica may have changed the registry, at once
   * (PostgreSQL's LISTEN/NOTIFY); null where only the periodic look notices (SQLite).
   */
  watchChanges(onChange: () => void, log: (message: string) => void): Promise<{ close(): Promise<void> }> | null;
  /** Closes what was opened here (the alert store first, which gives up the lead). */
  close(): Promise<void>;
}

/**
 * The state dir's SQLite database, opened and migrated (monitoring's tables too, before its
 * worker opens its own connection to them).
 */
export function openSqliteStorage(stateDir: string, options: { monitoring: boolean }): ServiceStorage {
  const file = path.join(stateDir, DATABASE_FILE);
  const db = openDatabase(file);
  try {
    const registry = new SqliteRegistry(db);
    const users = new SqliteUserStore(db);
    const replays = new SqliteReplayStore(db);
    let alerts: AlertStore | undefined;
    if (options.monitoring) {
      new SqliteMonitoringStore(db, mergeWindowStates);
      new SqliteCaptureStore(db);
      // The worker writes most and checkpoints the WAL; commits here never wait for a checkpoint.
      db.pragma('wal_autocheckpoint = 0');
      alerts = new SqliteAlertStore(db);
    }
    return {
      location: { kind: 'sqlite', file },
      registry,
      users,
      artifacts: new FolderArtifactStore(path.join(stateDir, ARTIFACTS_DIR)),
      replays,
      alerts,
      watchChanges: () => null,
      close: async () => {
        await alerts?.close();
        await registry.close();
        db.close();
      }
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The PostgreSQL database at `url`, one pool for every store, each store's tables migrated;
 * the artifacts' local cache in the state dir. A URL that cannot be used fails here, naming
 * what failed (never the password).
 */
export async function openPostgresStorage(url: string, stateDir: string, options: { monitoring: boolean }): Promise<ServiceStorage> {
  const pool: PostgresPool = await openPostgres(url);
  try {
    const registry = await PostgresRegistry.open(pool);
    const users = await PostgresUserStore.open(pool);
    const artifacts = await PostgresArtifactStore.open(pool, path.join(stateDir, ARTIFACTS_DIR));
    const replays = await PostgresReplayStore.open(pool);
    const alerts = options.monitoring ? await PostgresAlertStore.open(pool) : undefined;
    return {
      location: { kind: 'postgresql', url },
      registry,
      users,
      artifacts,
      replays,
      alerts,
      watchChanges: (onChange, log) => PostgresChangeListener.start(url, onChange, log),
      close: async () => {
        await alerts?.close();
        await registry.close();
        await pool.end();
      }
    };
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}
