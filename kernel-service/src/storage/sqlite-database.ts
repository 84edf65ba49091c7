/**
 * The service's SQLite database: one file in the state dir, opened once on the main thread and
 * shared by the registry, the monitoring store and the alert store, each with its own tables.
 * One migration runner brings each component's tables to its newest schema and records the
 * version per component in `schema_versions`. Other threads (the monitoring worker) open their
 * own connection to the same file; WAL mode lets them read and write beside it.
 */
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

/** The database file in a state dir. */
export const DATABASE_FILE = 'registry.sqlite';

/** A migration: SQL, or a function for what SQL cannot do alone; it runs inside the migration's transaction. */
export type Migration = string | ((db: SqliteDatabase) => void);

/** Opens (or creates) a database file with the settings every nbdeploy connection uses. */
export function openDatabase(file: string): SqliteDatabase {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * Runs the component's migrations that its recorded version has not seen, in order, in one
 * immediate transaction (so that two processes starting on one file migrate once).
 * `legacyVersion` reads where an older build recorded the version, for a component that has
 * no row in `schema_versions` yet.
 */
export function migrate(db: SqliteDatabase, component: string, migrations: readonly Migration[], legacyVersion?: (db: SqliteDatabase) => number): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const read = db.prepare<[string], { version: number }>('SELECT version FROM schema_versions WHERE component = ?');
  const current = read.get(component)?.version;
  if (current !== undefined && current >= migrations.length) return;
  db.transaction(() => {
    let version = read.get(component)?.version;
    if (version === undefined) {
      version = legacyVersion?.(db) ?? 0;
      db.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?)').run(component, version);
    }
    for (let i = version; i < migrations.length; i++) {
      const m = migrations[i]!;
      if (typeof m === 'string') db.exec(m);
      else m(db);
    }
    db.prepare('UPDATE schema_versions SET version = ? WHERE component = ?').run(Math.max(version, migrations.length), component);
  }).immediate();
}

/** The version an older build kept in its own one-row table (`monitoring_schema`, `alerts_schema`), or 0. */
export function versionInTable(table: string): (db: SqliteDatabase) => number {
  return (db) => {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    if (!exists) return 0;
    return db.prepare<[], { version: number }>(`SELECT version FROM ${table}`).get()?.version ?? 0;
  };
}
