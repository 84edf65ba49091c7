/**
 * `nbdeploy users add | list | revoke`: people and applications with tokens of their own,
 * written to the state dir's database directly (with or without a service running on it).
 */
import { ServiceError } from '../errors.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { ROLES, isRole } from '../people/roles.js';
import type { User, UserStore } from '../people/user-store.js';
import { type Command, UsageError, parseCommandLine } from './command.js';
import { commandLineActor, openStateDatabase } from './state-database.js';
import { formatTable } from './table.js';

export const users: Command = {
  name: 'users',
  summary: 'add, list or revoke the people and applications that hold tokens',
  usage: `usage: nbdeploy users add NAME --role ROLE [--models A,B] [--state-dir DIR | --database URL]
       nbdeploy users list [--json] [--state-dir DIR | --database URL]
       nbdeploy users revoke NAME [--state-dir DIR | --database URL]

add      adds the user and prints their new token, alone on stdout (the only time it is shown;
         the database keeps its sha256). ROLE is one of ${ROLES.join(', ')} (docs/people.md);
         --models limits an inference user to those models.
list     the users: name, role, models, tokens, created, revoked.
revoke   the user's tokens stop working at once, in a running service too.

The commands write the database directly (DIR's, or the replicas' PostgreSQL database), so they
work whether or not the service runs.
The service's own token (serve --token) is the admin "api", listed but not changed here.

options:
  --role ROLE              add: the user's role
  --models A,B             add: the models an inference user may use (default: all)
  --state-dir DIR          the service's state dir (default ${DEFAULT_OPTIONS.stateDir})
  --database URL           the replicas' PostgreSQL database instead (serve --database; default:
                           NBDEPLOY_DATABASE_URL when no --state-dir)
  --json                   list: print JSON
  -h, --help               print this and exit

Exit status: 0 done, 1 refused (the reason on stderr), 2 wrong arguments.
`,
  run: async (args) => {
    const { values, positionals } = parseCommandLine({
      args,
      strict: true,
      allowPositionals: true,
      options: { role: { type: 'string' }, models: { type: 'string' }, 'state-dir': { type: 'string' }, database: { type: 'string' }, json: { type: 'boolean' } }
    });
    if (values.database && values['state-dir']) throw new UsageError('give --state-dir or --database, not both');
    const where: UsersAt = { stateDir: values['state-dir'], database: values.database ?? (values['state-dir'] ? undefined : process.env.NBDEPLOY_DATABASE_URL || undefined) };
    const [action, name, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const onlyFor = (option: string, allowed: string): void => {
      if ((values as Record<string, unknown>)[option] !== undefined && action !== allowed) throw new UsageError(`--${option} goes with "users ${allowed}" only`);
    };
    onlyFor('role', 'add');
    onlyFor('models', 'add');
    onlyFor('json', 'list');
    const needName = (): string => {
      if (name === undefined) throw new UsageError(`users ${action} needs NAME`);
      return name;
    };
    switch (action) {
      case 'add': {
        const user = needName();
        if (values.role === undefined) throw new UsageError(`users add needs --role (${ROLES.join(', ')})`);
        if (!isRole(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${values.role}"`);
        const models = values.models === undefined ? null : values.models.split(',').map((m) => m.trim()).filter(Boolean);
        if (models !== null && models.length === 0) throw new UsageError('--models needs at least one model name, e.g. --models churn,fraud');
        const role = values.role;
        return withDatabase(where, true, async ({ users: store }) => {
          const actor = commandLineActor();
          await store.addUser({ name: user, role, models }, actor);
          console.log(await store.issueToken(user, 'nbdeploy users add', actor));
        });
      }
      case 'list':
        if (name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
        return withDatabase(where, false, async ({ users: store }) => {
          const all = await store.listUsers();
          if (values.json) {
            console.log(JSON.stringify({ users: all.map(userJson) }, null, 2));
            return;
          }
          const rows = all.map((u) => [u.name, u.role, u.models?.join(',') ?? '', String(u.tokens), u.createdAt, u.revokedAt ?? '']);
          process.stdout.write(formatTable(['NAME', 'ROLE', 'MODELS', 'TOKENS', 'CREATED', 'REVOKED'], rows));
        });
      case 'revoke': {
        const user = needName();
        return withDatabase(where, false, async ({ users: store }) => {
          const revoked = await store.revokeUser(user, commandLineActor());
          console.error(`revoked "${revoked.name}" (${revoked.tokens} token${revoked.tokens === 1 ? '' : 's'}) at ${revoked.revokedAt}`);
        });
      }
      case undefined:
        throw new UsageError('say what to do: users add, users list or users revoke');
      default:
        throw new UsageError(`unknown action "${action}": use add, list or revoke`);
    }
  }
};

/** Where the users are: a state dir's SQLite database, or the replicas' PostgreSQL database. */
interface UsersAt {
  stateDir: string | undefined;
  database: string | undefined;
}

/** Runs `work` on the users' database; a refusal (a taken name, an unknown user) exits 1 with its reason. */
async function withDatabase(where: UsersAt, create: boolean, work: (database: { users: UserStore }) => Promise<void>): Promise<void> {
  const database = where.database ? await openPostgresUsers(where.database) : openStateDatabase(where.stateDir, create);
  try {
    await work(database);
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    console.error(`nbdeploy users: ${error.message}`);
    process.exitCode = 1;
  } finally {
    await database.close();
  }
}

/** The users on the replicas' PostgreSQL database (migrated as a service would). */
async function openPostgresUsers(url: string): Promise<{ users: UserStore; close: () => Promise<void> }> {
  const { openPostgres } = await import('../storage/postgres-database.js');
  const { PostgresRegistry } = await import('../registry/postgres-registry.js');
  const { PostgresUserStore } = await import('../people/postgres-user-store.js');
  const pool = await openPostgres(url, { max: 2 });
  try {
    await PostgresRegistry.open(pool);
    return { users: await PostgresUserStore.open(pool), close: () => pool.end() };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

function userJson(u: User): Record<string, unknown> {
  return { name: u.name, role: u.role, models: u.models, tokens: u.tokens, created_at: u.createdAt, created_by: u.createdBy, revoked_at: u.revokedAt };
}
