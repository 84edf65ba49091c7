/**
 * Latency percentiles that merge: a DDSketch (relative accuracy 1 %) of request latencies
 * in milliseconds. Sketches of different time windows or replicas merge into the sketch
 * of their union, so p50/p95/p99 of any span come from per-window sketches without
 * keeping the latencies themselves; any quantile is within 1 % of the true value at that
 * rank.
 *
 * The state goes to JSON as the sketch's protobuf encoding (DataDog's DDSketch proto, in
 * base64) plus the sum, min and max, which the proto does not carry.
 */
import { DDSketch } from '@datadog/sketches-js';
import { z } from 'zod';

/** Every quantile is within this fraction of the true value at that rank. */
export const LATENCY_RELATIVE_ACCURACY = 0.01;

const STATE_VERSION = 1;

export const LatencySketchState = z.strictObject({
  version: z.literal(STATE_VERSION),
  relativeAccuracy: z.literal(LATENCY_RELATIVE_ACCURACY),
  /** DDSketch protobuf bytes, base64: the mapping, the bins and the zero count. */
  sketch: z.base64(),
  sum: z.number().finite().min(0),
  /** null while empty. */
  min: z.number().finite().min(0).nullable(),
  max: z.number().finite().min(0).nullable()
});
export type LatencySketchState = z.infer<typeof LatencySketchState>;

export class LatencySketch {
  static fromJSON(state: unknown): LatencySketch {
    const s = LatencySketchState.parse(state);
    const decoded = DDSketch.fromProto(Buffer.from(s.sketch, 'base64'));
    const restored = new LatencySketch();
    const ours = restored._sketch.mapping.toProto();
    const theirs = decoded.mapping.toProto();
    if (theirs.gamma !== ours.gamma || (theirs.indexOffset ?? 0) !== (ours.indexOffset ?? 0) || theirs.interpolation !== ours.interpolation) {
      throw new RangeError(`latency sketch state: the sketch's index mapping (gamma ${theirs.gamma}) is not the 1 % logarithmic one`);
    }
    if ((decoded.count === 0) !== (s.min === null) || (s.min === null) !== (s.max === null)) {
      throw new RangeError('latency sketch state: min and max must be null exactly when the sketch is empty');
    }
    // Merging into a fresh sketch keeps our own mapping object: fromProto rebuilds one from
    // gamma whose multiplier can differ in the last bit, which could move a later value to
    // the neighbouring bin and make the restored sketch drift from the original.
    restored._sketch.merge(decoded);
    restored._sketch.sum = s.sum;
    restored._sketch.min = s.min ?? Infinity;
    restored._sketch.max = s.max ?? -Infinity;
    return restored;
  }

  /** Latencies added (or merged in). */
  get count(): number {
    return this._sketch.count;
  }

  /** Sum of the latencies, in ms (with count, the mean). */
  get sum(): number {
    return this._sketch.sum;
  }

  /** Smallest latency added, exact; null while empty. */
  get min(): number | null {
    return this.count === 0 ? null : this._sketch.min;
  }

  /** Largest latency added, exact; null while empty. */
  get max(): number | null {
    return this.count === 0 ? null : this._sketch.max;
  }

  /** Records one latency, in milliseconds. */
  add(ms: number): void {
    // Negative values would go to the sketch's negative store, which the library's merge
    // ignores; a latency below zero is a clock bug anyway.
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`latency must be a finite number of ms >= 0, got ${ms}`);
    this._sketch.accept(ms);
  }

  /** Adds `other`'s latencies to this sketch (another window, another replica); `other` is unchanged. */
  merge(other: LatencySketch): void {
    this._sketch.merge(other._sketch);
  }

  /**
   * The latency at quantile q (0.99 for p99), within 1 % of the true value at rank
   * floor(q · (count − 1)); null while empty, as there is no percentile of nothing.
   */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
    return this.count === 0 ? null : this._sketch.getValueAtQuantile(q);
  }

  toJSON(): LatencySketchState {
    const empty = this.count === 0;
    return {
      version: STATE_VERSION,
      relativeAccuracy: LATENCY_RELATIVE_ACCURACY,
      sketch: Buffer.from(this._sketch.toProto()).toString('base64'),
      sum: this._sketch.sum,
      min: empty ? null : this._sketch.min,
      max: empty ? null : this._sketch.max
    };
  }

  private readonly _sketch = new DDSketch({ relativeAccuracy: LATENCY_RELATIVE_ACCURACY });
}
