/**
 * Replay gates on a deploy: `{"replay_agreement": ">= 0.98", "accuracy_delta": ">= 0"}` are
 * read against the version's latest replay — its agreement with what was served, and each
 * metric's candidate − served difference where ground truth arrived (`<metric>_delta`). A gate
 * that fails, or a version never replayed, refuses the deploy naming why.
 */
import { ServiceError } from '../errors.js';
import { type GateResult, evaluateGates } from '../validation/gates.js';
import type { ReplayStore } from './replay-store.js';

export async function checkReplayGates(store: ReplayStore | undefined, model: string, version: number, gates: Readonly<Record<string, string>>): Promise<GateResult[]> {
  const refuse = (reason: string): never => {
    throw new ServiceError('NBD_ERR_REPLAY_GATE', { model, version, reason });
  };
  const replay = await store?.latest(model, version);
  if (!replay) return refuse('it has not been replayed on captured traffic (nd.replay)');
  const metrics: Record<string, number | null> = { replay_agreement: replay.agreement };
  for (const [name, delta] of Object.entries(replay.metrics?.delta ?? {})) metrics[`${name}_delta`] = delta;
  const results = evaluateGates(gates, metrics, null, null);
  const failed = results.filter((r) => r.status !== 'pass');
  if (failed.length > 0) refuse(`its latest replay (#${replay.id}, ${replay.rows} rows) misses ${failed.map((r) => `${r.metric} ${r.condition} (${r.detail})`).join('; ')}`);
  return results;
}
