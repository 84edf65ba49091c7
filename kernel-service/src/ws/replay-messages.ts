/**
 * The `replay` message of the notebook protocol: captured traffic answered by a candidate
 * version and compared with what was served (replay/). Progress goes out as `replay_progress`
 * frames naming the request (`replay`: its id), at most a few a second.
 */
import { ServiceError } from '../errors.js';
import type { Monitor } from '../monitoring/monitor.js';
import type { ReplayMessage } from '../protocol/notebook.js';
import type { Actor, Registry } from '../registry/registry.js';
import type { ReplayStore } from '../replay/replay-store.js';
import { runReplay } from '../replay/replay-run.js';
import { spanOf } from './capture-messages.js';
import type { DataPlane } from '../serving/data-plane.js';

const DEFAULT_LAST_SECONDS = 24 * 3600;
const DEFAULT_LIMIT = 100_000;
const DEFAULT_TABLE_ROWS = 1000;
const PROGRESS_EVERY_MS = 250;

export async function replayReply(
  msg: ReplayMessage,
  ctx: { registry: Registry; dataPlane: DataPlane; monitor: Monitor | undefined; replays: ReplayStore | undefined; actor: Actor },
  send: (frame: Record<string, unknown>) => void
): Promise<Record<string, unknown>> {
  if (!ctx.monitor) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring, which keeps the captured requests a replay reads' });
  const { from, to } = spanOf(msg, DEFAULT_LAST_SECONDS);
  let last = 0;
  const result = await runReplay(
    { registry: ctx.registry, dataPlane: ctx.dataPlane, monitor: ctx.monitor },
    { model: msg.model, version: msg.version, from, to, source: msg.source ?? 'captured', maxRows: msg.limit ?? DEFAULT_LIMIT, tableRows: msg.table_rows ?? DEFAULT_TABLE_ROWS },
    (done, total) => {
      const now = Date.now();
      if (done < total && now - last < PROGRESS_EVERY_MS) return;
      last = now;
      // Not `id`: that names the reply, which comes last.
      send({ type: 'replay_progress', replay: msg.id, done, total });
    }
  );
  // Kept (without its rows) for deploys gated on it.
  const stored = await ctx.replays?.save({
    model: result.model,
    version: result.version,
    source: result.source,
    rows: result.rows,
    agreement: result.agreement,
    changed: result.changed,
    metrics: result.metrics,
    from: result.from,
    to: result.to,
    createdBy: ctx.actor.user
  });
  return { type: 'replay', id: msg.id, replay_id: stored?.id ?? null, ...result };
}
