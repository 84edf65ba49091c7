/**
 * What the control-plane commands share: finding the running service (--url / --token, then
 * NBDEPLOY_URL / NBDEPLOY_TOKEN, then the state dir: the URL from its service.json, the token
 * as `nbdeploy token` finds it), talking to it over `/ws` with the notebook API's client, and
 * how answers and refusals come out: tables for people, `--json` for machines, exit 1 with
 * the service's reason when it refuses.
 */
import path from 'node:path';
import { NotebookClient } from '../notebook/client.js';
import { DEFAULT_URL, type ConnectionInfo, wsUrlOf } from '../notebook/connection.js';
import { InputError, ServiceError, ServiceUnreachableError } from '../notebook/errors.js';
import { DeploymentReply } from '../notebook/replies.js';
import { modelRows } from '../notebook/model-rows.js';
import { DEFAULT_OPTIONS } from '../options.js';
import type { ModelView } from '../protocol/views.js';
import { readServiceNote } from '../service-note.js';
import { UsageError } from './command.js';
import { formatTable } from './table.js';
import { serviceToken } from './token.js';

/** The options every control-plane command takes (parseArgs' form). */
export const REMOTE_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean' }
} as const;

export const REMOTE_USAGE = `  --url URL                the service (default: NBDEPLOY_URL, else the URL of the service running
                           on the state dir, else ${DEFAULT_URL})
  --token TOKEN            its token (default: NBDEPLOY_TOKEN, else the state dir's, as \`nbdeploy token\`)
  --state-dir DIR          the state dir to look in (default ${DEFAULT_OPTIONS.stateDir})
  --json                   print JSON (the service's own shapes, docs/protocol.md) instead of a table
  -h, --help               print this and exit

Exit status: 0 done, 1 refused or failed (the service's reason on stderr; with --json also
{"error", "code"} on stdout, code null when the service was not reached), 2 wrong arguments.`;

export interface RemoteValues {
  url?: string;
  token?: string;
  'state-dir'?: string;
  json?: boolean;
}

/** Where the service is and its token, in the order REMOTE_USAGE gives. */
export function locateService(values: RemoteValues, env: NodeJS.ProcessEnv = process.env): ConnectionInfo {
  const stateDir = path.resolve(values['state-dir'] ?? DEFAULT_OPTIONS.stateDir);
  const url = values.url || env.NBDEPLOY_URL || readServiceNote(stateDir)?.url || DEFAULT_URL;
  if (values.token) return { url, wsUrl: wsUrlOf(url), token: values.token, tokenSource: 'the --token option' };
  let found;
  try {
    found = serviceToken(stateDir, env);
  } catch (error) {
    throw new UsageError(`no token for ${url}: give --token or NBDEPLOY_TOKEN (${(error as Error).message})`);
  }
  return { url, wsUrl: wsUrlOf(url), token: found.token, tokenSource: found.source };
}

/** A positive whole number, or a usage error naming the argument. */
export function versionArgument(name: string, raw: string | undefined): number {
  const version = Number(raw);
  if (raw === undefined || !Number.isInteger(version) || version < 1) {
    throw new UsageError(`${name} must be a version number (1, 2, …), got ${raw === undefined ? 'nothing' : `"${raw}"`}`);
  }
  return version;
}

/** Exactly `names.length` positional arguments (those after the first `optional` may be left out). */
export function positionals(given: readonly string[], names: readonly string[], required = names.length): string[] {
  if (given.length < required) throw new UsageError(`missing ${names.slice(given.length, required).join(' and ')}`);
  if (given.length > names.length) throw new UsageError(`unexpected argument "${given[names.length]}"`);
  return [...given];
}

/**
 * Connects, runs `work`, prints what it returns (JSON, or its `text` for people), and turns
 * the service's refusals into exit status 1 with its reason.
 */
export async function withService(
  command: string,
  values: RemoteValues,
  work: (client: NotebookClient) => Promise<{ json: unknown; text: string }>
): Promise<void> {
  const client = new NotebookClient(locateService(values));
  try {
    const out = await work(client);
    process.stdout.write(values.json ? JSON.stringify(out.json, null, 2) + '\n' : out.text);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message);
    const { reason, code } = explain(error, client.info);
    if (values.json) process.stdout.write(JSON.stringify({ error: reason, code }, null, 2) + '\n');
    process.stderr.write(`nbdeploy ${command}: ${code ? `refused: ${reason} [${code}]` : `failed: ${reason}`}\n`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

/** A failure in the command line's words: the service's reason and code, or (code null) why it was not reached. */
function explain(error: unknown, info: ConnectionInfo): { reason: string; code: string | null } {
  if (error instanceof ServiceUnreachableError) {
    return { reason: `cannot reach the nbdeploy service at ${error.url}: ${error.reason} (give --url, or set NBDEPLOY_URL)`, code: null };
  }
  if (error instanceof ServiceError && error.code === 'NBD_ERR_UNAUTHORIZED') {
    return { reason: `the service at ${info.url} refused the token from ${info.tokenSource} (give --token, or set NBDEPLOY_TOKEN)`, code: error.code };
  }
  if (error instanceof ServiceError) return { reason: error.detail, code: error.code };
  return { reason: (error as Error).message, code: null };
}

/** Sends a deployment change; answers with the model as the service now has it. */
export async function changeDeployment(client: NotebookClient, message: Record<string, unknown> & { type: string }): Promise<{ json: unknown; text: string }> {
  const { reply } = await client.request(message, DeploymentReply);
  return { json: { model: reply.model }, text: describeModels([reply.model]) };
}

/** Models and their versions, as `nbdeploy models` prints them. */
export function describeModels(models: readonly ModelView[]): string {
  if (models.length === 0) return 'no models registered\n';
  const rows = modelRows(models).map((r) => [
    r.model,
    String(r.version),
    r.stage,
    r.traffic,
    r.validated === null ? '' : r.validated ? 'passed' : 'failed',
    r.review ?? '',
    r.created_at,
    r.created_by
  ]);
  return formatTable(['MODEL', 'VERSION', 'STAGE', 'TRAFFIC', 'VALIDATION', 'REVIEW', 'CREATED', 'BY'], rows);
}
