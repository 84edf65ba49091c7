/**
 * `nbdeploy backup --to FILE`: an online copy of the state dir's SQLite database, taken with
 * SQLite's backup API (better-sqlite3's `db.backup`) while the service runs. The copy is one
 * consistent snapshot — the WAL's committed pages included — written beside FILE and renamed
 * into place, so a failed backup leaves no half-written file. Restoring is copying it into a
 * new state dir with the artifacts and the token (docs/scale-out.md#backup-and-restore).
 */
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_OPTIONS } from '../options.js';
import { DATABASE_FILE, openDatabase } from '../storage/sqlite-database.js';
import { type Command, UsageError, parseCommandLine } from './command.js';

/** Pages per step of the backup: all of them, so the copy is read in one transaction (a writer between steps would restart it). */
const ALL_PAGES = 0x7fffffff;

export const backup: Command = {
  name: 'backup',
  summary: 'copy the state database while the service runs (online, consistent)',
  usage: `usage: nbdeploy backup --to FILE [--state-dir DIR]

Copies DIR/${DATABASE_FILE} — the registry, audit log, users, validation reports, monitoring and
alerts — into FILE with SQLite's online backup, while services (replicas too) keep serving from
it: FILE is one consistent snapshot. FILE must not exist yet.

The model files are not in FILE: they are DIR/artifacts/ (immutable, named by their sha256).
To restore, make a new state dir holding FILE as ${DATABASE_FILE}, a copy of artifacts/ taken
after the backup, and the token file (or start it with --token); docs/scale-out.md says how.

options:
  --to FILE                where to write the copy (a new file; its folder must exist)
  --state-dir DIR          the service's state dir (default ${DEFAULT_OPTIONS.stateDir})
  -h, --help               print this and exit

Exit status: 0 done, 1 the copy failed (the reason on stderr), 2 wrong arguments.
`,
  run: async (args) => {
    const { values, positionals } = parseCommandLine({
      args,
      strict: true,
      allowPositionals: true,
      options: { to: { type: 'string' }, 'state-dir': { type: 'string' } }
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the file goes with --to FILE)`);
    if (values.to === undefined || values.to === '') throw new UsageError('say where to write the copy: --to FILE');
    const stateDir = path.resolve(values['state-dir'] ?? DEFAULT_OPTIONS.stateDir);
    const source = path.join(stateDir, DATABASE_FILE);
    const target = path.resolve(values.to);
    if (!existsSync(source)) throw new UsageError(`no nbdeploy database in ${stateDir} (${DATABASE_FILE}); give the state dir with --state-dir`);
    if (existsSync(target)) throw new UsageError(`${target} exists already; give a new file to --to (a backup never overwrites)`);
    const folder = path.dirname(target);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`the folder of --to, ${folder}, does not exist`);
    if (target === source) throw new UsageError('--to names the state database itself');

    const partial = `${target}.partial-${process.pid}`;
    // Opened as the service opens it, but not migrated: the copy is the database as it is.
    const db = openDatabase(source);
    try {
      const { totalPages } = await db.backup(partial, { progress: () => ALL_PAGES });
      chmodSync(partial, 0o600); // token hashes and the audit log: its owner's alone, as the state dir is
      renameSync(partial, target);
      const bytes = statSync(target).size;
      console.error(`backed up ${source} to ${target} (${totalPages} pages, ${bytes} bytes)`);
    } catch (error) {
      rmSync(partial, { force: true });
      console.error(`nbdeploy backup: the copy of ${source} failed: ${(error as Error).message}`);
      process.exitCode = 1;
    } finally {
      db.close();
    }
  }
};
