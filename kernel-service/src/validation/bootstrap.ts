/**
 * Percentile-bootstrap confidence intervals of the report's metrics. The resamples are drawn
 * with mulberry32 (monitoring/accumulators.ts's `seededRandom`), a small documented 32-bit
 * generator, from a fixed default seed: the same rows and the same seed give the same
 * intervals on every run and every machine (docs/protocol.md, Validation).
 */
import { seededRandom } from '../monitoring/accumulators.js';
import type { Metrics } from './metrics.js';

/** The seed when the `validate` message gives none. */
export const BOOTSTRAP_SEED = 7;
export const DEFAULT_RESAMPLES = 200;
export const INTERVAL_LEVEL = 0.95;

/** numpy.percentile's default (linear interpolation between the closest ranks). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Percentile bootstrap intervals: `compute(indices)` gives the metrics on a resample of the
 * rows. A metric scored on fewer than half the resamples gets null.
 */
export function bootstrapIntervals(
  compute: (indices: number[]) => Metrics,
  n: number,
  resamples = DEFAULT_RESAMPLES,
  level = INTERVAL_LEVEL,
  seed = BOOTSTRAP_SEED
): Record<string, [number, number] | null> {
  const random = seededRandom(seed);
  const draws = new Map<string, number[]>();
  const names = new Set<string>();
  for (let r = 0; r < resamples; r++) {
    const indices = Array.from({ length: n }, () => Math.floor(random() * n));
    for (const [name, value] of Object.entries(compute(indices))) {
      names.add(name);
      if (value !== null) {
        if (!draws.has(name)) draws.set(name, []);
        draws.get(name)!.push(value);
      }
    }
  }
  const tail = ((1 - level) / 2) * 100;
  const out: Record<string, [number, number] | null> = {};
  for (const name of names) {
    const v = draws.get(name) ?? [];
    out[name] = v.length >= Math.floor(resamples / 2) && v.length > 0 ? [percentile(v, tail), percentile(v, 100 - tail)] : null;
  }
  return out;
}
