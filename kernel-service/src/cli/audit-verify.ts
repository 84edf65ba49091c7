/** `nbdeploy audit verify`: whether the audit log's hash chain is intact, read from the state dir's database or the replicas' PostgreSQL database directly. */
import { verifyAuditLog } from '../registry/audit-log.js';
import type { AuditVerdict } from '../registry/audit-chain.js';
import { describeUrl } from '../storage/database-location.js';
import { UsageError, parseCommandLine } from './command.js';
import { openStateDatabase } from './state-database.js';

export const AUDIT_VERIFY_USAGE = `usage: nbdeploy audit verify [--state-dir DIR | --database URL] [--json]

Checks the audit log's hash chain in DIR's database, or in the PostgreSQL database URL of
replicas started with serve --database (with or without a service running): prints that it
is intact, or the first entry that was changed or is missing (exit 1).

options:
  --state-dir DIR          the service's state dir (default .nbdeploy)
  --database URL           the replicas' PostgreSQL database (default: NBDEPLOY_DATABASE_URL when no --state-dir)
  --json                   print {"ok", "entries", "head"} or {"ok": false, "problem", "entry", "reason"}
`;

export async function verifyAudit(args: string[]): Promise<void> {
  const { values } = parseCommandLine({
    args,
    strict: true,
    options: { 'state-dir': { type: 'string' }, database: { type: 'string' }, json: { type: 'boolean' } }
  });
  if (values.database && values['state-dir']) throw new UsageError('give --state-dir or --database, not both');
  const database = values.database ?? (values['state-dir'] ? undefined : process.env.NBDEPLOY_DATABASE_URL || undefined);
  const verdict = database ? await verifyInPostgres(database) : verifyInStateDir(values['state-dir']);
  if (values.json) console.log(JSON.stringify(verdict));
  else if (verdict.ok) console.log(`audit log intact: ${verdict.entries} entries${verdict.head ? `, last hash ${verdict.head}` : ''}`);
  else console.log(`audit log broken: ${verdict.reason}`);
  if (!verdict.ok) process.exitCode = 1;
}

function verifyInStateDir(stateDir: string | undefined): AuditVerdict {
  const database = openStateDatabase(stateDir);
  try {
    return verifyAuditLog(database.db);
  } finally {
    database.close();
  }
}

async function verifyInPostgres(url: string): Promise<AuditVerdict> {
  try {
    describeUrl(url);
  } catch (error) {
    throw new UsageError(`--database: ${(error as Error).message}`);
  }
  // Loaded when used: the state dir's case needs no pg.
  const { openPostgres } = await import('../storage/postgres-database.js');
  const { verifyPostgresAuditLog } = await import('../registry/postgres-audit-log.js');
  const pool = await openPostgres(url, { max: 1 });
  try {
    return await verifyPostgresAuditLog(pool);
  } finally {
    await pool.end();
  }
}
