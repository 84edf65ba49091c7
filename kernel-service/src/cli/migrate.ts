/** `nbdeploy migrate --from DIR --to URL`: a SQLite state dir's state into an empty PostgreSQL database. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TOKEN_FILE } from '../auth.js';
import { describeUrl } from '../storage/database-location.js';
import { type Command, UsageError, parseCommandLine } from './command.js';

export const migrate: Command = {
  name: 'migrate',
  summary: 'move a state dir\'s state into an empty PostgreSQL database (for serve --database)',
  usage: `usage: nbdeploy migrate --from DIR --to URL

Copies what the service keeps in the state dir DIR (SQLite) into the empty PostgreSQL
database URL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE), for "nbdeploy serve
--database URL": models, versions and their artifacts, deployments, production history,
validations, reviews, feedback, the audit log (its hash chain verified before and after),
users and their tokens, alert rules, webhooks and history, and replays. Monitoring windows
and the predictions log stay behind. Stop the service on DIR first (a running one is
refused); a database that already has tables is refused. The admin token is not in the
database: give every replica the one in DIR/${TOKEN_FILE} (--token, NBDEPLOY_TOKEN, or the file).

options:
  --from DIR               the state dir to copy (a service's --state-dir)
  --to URL                 the empty PostgreSQL database to copy into (default: NBDEPLOY_DATABASE_URL)
  -h, --help               print this and exit

Exit status: 0 copied and verified, 1 refused or failed (the reason on stderr), 2 wrong arguments.
`,
  run: async (args) => {
    const { values } = parseCommandLine({ args, strict: true, options: { from: { type: 'string' }, to: { type: 'string' } } });
    const to = values.to ?? (process.env.NBDEPLOY_DATABASE_URL || undefined);
    if (!values.from) throw new UsageError('--from DIR is required: the state dir to copy');
    if (!to) throw new UsageError('--to URL is required: the empty PostgreSQL database to copy into');
    const from = path.resolve(values.from);
    let where: string;
    try {
      where = describeUrl(to);
    } catch (error) {
      throw new UsageError(`--to: ${(error as Error).message}`);
    }
    // Loaded when used: --help needs neither SQLite nor pg.
    const { migrateState } = await import('../storage/state-migration.js');
    try {
      const result = await migrateState(from, to);
      const tables = Object.entries(result.rows)
        .filter(([, n]) => n > 0)
        .map(([table, n]) => `${table} ${n}`)
        .join(', ');
      console.log(`copied ${from} into ${where}: ${result.artifacts} artifact(s); rows: ${tables}`);
      console.log(`audit log intact: ${result.audit.entries} entries${result.audit.head ? `, last hash ${result.audit.head}` : ''}`);
      const tokenFile = path.join(from, TOKEN_FILE);
      console.log(
        existsSync(tokenFile)
          ? `start replicas with the admin token of ${tokenFile}: nbdeploy serve --database URL --token "$(cat ${tokenFile})"`
          : 'start replicas with the admin token the service was given: nbdeploy serve --database URL --token TOKEN'
      );
    } catch (error) {
      console.error(`nbdeploy migrate: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
};
