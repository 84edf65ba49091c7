/** `nbdeploy audit verify`: whether the audit log's hash chain is intact, read from the state dir's database directly. */
import { verifyAuditLog } from '../registry/audit-log.js';
import { parseCommandLine } from './command.js';
import { openStateDatabase } from './state-database.js';

export const AUDIT_VERIFY_USAGE = `usage: nbdeploy audit verify [--state-dir DIR] [--json]

Checks the audit log's hash chain in DIR's database (with or without a service running):
prints that it is intact, or the first entry that was changed or is missing (exit 1).

options:
  --state-dir DIR          the service's state dir (default .nbdeploy)
  --json                   print {"ok", "entries", "head"} or {"ok": false, "problem", "entry", "reason"}
`;

export async function verifyAudit(args: string[]): Promise<void> {
  const { values } = parseCommandLine({ args, strict: true, options: { 'state-dir': { type: 'string' }, json: { type: 'boolean' } } });
  const database = openStateDatabase(values['state-dir']);
  try {
    const verdict = verifyAuditLog(database.db);
    if (values.json) console.log(JSON.stringify(verdict));
    else if (verdict.ok) console.log(`audit log intact: ${verdict.entries} entries${verdict.head ? `, last hash ${verdict.head}` : ''}`);
    else console.log(`audit log broken: ${verdict.reason}`);
    if (!verdict.ok) process.exitCode = 1;
  } finally {
    database.close();
  }
}
