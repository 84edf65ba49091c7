/**
 * What the monitoring worker opens for itself where the service keeps its state: the
 * registry (version plans), the monitoring store and the capture store, on its own SQLite
 * connection (WAL, beside the main thread's) or on its own small PostgreSQL pool; and closes
 * them again.
 */
import type { Registry } from '../registry/registry.js';
import { PostgresRegistry } from '../registry/postgres-registry.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import type { DatabaseLocation } from '../storage/database-location.js';
import { openPostgres } from '../storage/postgres-database.js';
import { openDatabase } from '../storage/sqlite-database.js';
import { type CaptureStore, SqliteCaptureStore } from './capture-store.js';
import type { MonitoringStore } from './monitoring-store.js';
import { PostgresCaptureStore } from './postgres-capture-store.js';
import { PostgresMonitoringStore } from './postgres-store.js';
import { SqliteMonitoringStore } from './store.js';
import { mergeWindowStates } from './window.js';

/** Connections of the worker's PostgreSQL pool: a transaction at a time, beside a few reads and the replica publishing. */
const POOL_SIZE = 4;

export interface MonitorStorage {
  registry: Registry;
  store: MonitoringStore;
  captures: CaptureStore;
  /** Moves SQLite's write-ahead log into the database file (the worker runs it on a timer); null on PostgreSQL, whose server does its own. */
  checkpoint: (() => void) | null;
  close(): Promise<void>;
}

export async function openMonitorStorage(location: DatabaseLocation): Promise<MonitorStorage> {
  if (location.kind === 'sqlite') {
    const db = openDatabase(location.file);
    // Checkpoints run on the worker's timer, rather than inside whichever commit crosses the threshold.
    db.pragma('wal_autocheckpoint = 0');
    const store = new SqliteMonitoringStore(db, mergeWindowStates);
    return {
      registry: new SqliteRegistry(db),
      store,
      captures: new SqliteCaptureStore(db),
      checkpoint: () => store.checkpoint(),
      close: async () => {
        db.close();
      }
    };
  }
  const pool = await openPostgres(location.url, { max: POOL_SIZE });
  try {
    const [registry, store, captures] = await Promise.all([
      PostgresRegistry.open(pool),
      PostgresMonitoringStore.open(pool, mergeWindowStates),
      PostgresCaptureStore.open(pool)
    ]);
    return {
      registry,
      store,
      captures,
      checkpoint: null,
      close: async () => {
        await store.close();
        await pool.end();
      }
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
