/**
 * The capture messages of the notebook protocol: `set_capture` (which share of a deployment's
 * requests is kept, and for how long) and `captured` (the kept rows as a table). Capture lives
 * in monitoring, so a service started with `--no-monitoring` refuses both.
 */
import { ServiceError } from '../errors.js';
import type { Monitor } from '../monitoring/monitor.js';
import type { CapturedMessage, SetCaptureMessage } from '../protocol/notebook.js';
import type { Actor, ModelSummary, Registry } from '../registry/registry.js';
import type { Deployer } from '../serving/deployer.js';

/** Days a captured request is kept when `set_capture` does not say. */
export const DEFAULT_CAPTURE_RETENTION_DAYS = 7;
const DEFAULT_LAST_SECONDS = 3600;
const DEFAULT_LIMIT = 10_000;

function monitorOf(monitor: Monitor | undefined): Monitor {
  if (!monitor) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring, which keeps captured requests' });
  return monitor;
}

/** The span [from, to) (ms) a message names: `from`/`to`, or the last `last_seconds` up to `to` (default now). */
export function spanOf(msg: { from?: string; to?: string; last_seconds?: number }, defaultLastSeconds: number): { from: number; to: number } {
  const to = msg.to === undefined ? Date.now() : Date.parse(msg.to);
  const from = msg.from === undefined ? to - (msg.last_seconds ?? defaultLastSeconds) * 1000 : Date.parse(msg.from);
  if (from >= to) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})` });
  return { from, to };
}

export function setCapture(msg: SetCaptureMessage, deployer: Deployer, monitor: Monitor | undefined, actor: Actor): Promise<ModelSummary> {
  if (msg.rate > 0) monitorOf(monitor);
  const settings = msg.rate > 0 ? { rate: msg.rate, retentionDays: msg.retention_days ?? DEFAULT_CAPTURE_RETENTION_DAYS } : null;
  return deployer.setCapture(msg.model, settings, actor);
}

export async function capturedReply(msg: CapturedMessage, registry: Registry, monitor: Monitor | undefined): Promise<Record<string, unknown>> {
  if (!(await registry.getModel(msg.model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
  if (msg.version !== undefined && !(await registry.getVersion(msg.model, msg.version))) {
    throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model: msg.model, version: msg.version });
  }
  const { from, to } = spanOf(msg, DEFAULT_LAST_SECONDS);
  const limit = msg.limit ?? DEFAULT_LIMIT;
  const shadow = msg.shadow ?? false;
  // One row more than asked for tells whether there were more.
  const table = await monitorOf(monitor).captured({ model: msg.model, from, to, version: msg.version, shadow, maxRows: limit + 1 });
  const truncated = table.rows.length > limit;
  return {
    type: 'captured',
    id: msg.id,
    model: msg.model,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    shadow,
    columns: table.columns,
    rows: truncated ? table.rows.slice(0, limit) : table.rows,
    hashed: table.hashed,
    truncated
  };
}
