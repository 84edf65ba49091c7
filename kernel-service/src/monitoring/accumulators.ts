/**
 * Bounded, mergeable accumulators for monitoring windows: a seeded reservoir sample of
 * numbers, capped category counts, and the performance counts that delayed ground truth
 * fills. Each has `merge` (windows and replicas add up) and a JSON state.
 */

/** Values a numeric reservoir keeps, and distinct categories a counter keeps. */
export const RESERVOIR_SIZE = 1000;
export const MAX_CATEGORIES = 1000;
/** The bucket that counts categories past MAX_CATEGORIES. */
export const OTHER_CATEGORY = '__other__';

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash of a string, to seed a reservoir from its feature's name. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface ReservoirState {
  seen: number;
  /** Missing values (NaN, null): counted, not sampled. */
  missing: number;
  values: number[];
}

/**
 * A uniform sample of at most `size` of the values seen (Vitter's algorithm R), with a
 * seeded PRNG so that the same stream gives the same sample.
 */
export class Reservoir {
  seen = 0;
  missing = 0;
  readonly values: number[] = [];

  constructor(
    readonly size = RESERVOIR_SIZE,
    seed = 1
  ) {
    this._random = seededRandom(seed);
  }

  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.missing++;
      return;
    }
    const n = ++this.seen;
    if (this.values.length < this.size) {
      this.values.push(x);
      return;
    }
    const j = Math.floor(this._random() * n);
    if (j < this.size) this.values[j] = x;
  }

  /**
   * Adds `other`'s sample: the merged sample takes from each side in proportion to the
   * values each side saw, so it stays (approximately) uniform over both streams.
   */
  merge(other: Reservoir | ReservoirState): void {
    this.missing += other.missing;
    const total = this.seen + other.seen;
    if (total === 0) return;
    // Loops rather than push(...spread): merges of long spans add up many 1,000-value samples.
    if (this.values.length + other.values.length <= this.size) {
      for (const v of other.values) this.values.push(v);
      this.seen = total;
      return;
    }
    const fromOther = Math.min(other.values.length, Math.round((this.size * other.seen) / total));
    const fromThis = Math.min(this.values.length, this.size - fromOther);
    const mine = this._pick(this.values, fromThis);
    const theirs = this._pick(other.values, fromOther);
    this.values.length = 0;
    for (const v of mine) this.values.push(v);
    for (const v of theirs) this.values.push(v);
    this.seen = total;
  }

  /**
   * Adds many samples at once (the windows and blocks of a long span): the merged sample takes
   * from this one and each of `others` in proportion to the values each saw, as `merge` does,
   * but draws only the values it keeps, so that merging n samples costs about one sample's
   * size instead of n of them.
   */
  mergeAll(others: ReadonlyArray<Reservoir | ReservoirState>): void {
    const sources: Array<{ seen: number; values: readonly number[] }> = [{ seen: this.seen, values: this.values.slice() }];
    let total = this.seen;
    let kept = this.values.length;
    for (const o of others) {
      this.missing += o.missing;
      if (o.values.length === 0) continue;
      sources.push(o);
      total += o.seen;
      kept += o.values.length;
    }
    if (total === 0) return;
    this.values.length = 0;
    this.seen = total;
    if (kept <= this.size) {
      for (const s of sources) for (const v of s.values) this.values.push(v);
      return;
    }
    // Shares in proportion to what each saw (at most what each kept); the largest remainders get the rest.
    const exact = sources.map((s) => (this.size * s.seen) / total);
    const quota = sources.map((s, i) => Math.min(s.values.length, Math.floor(exact[i]!)));
    let left = this.size - quota.reduce((a, q) => a + q, 0);
    const byRemainder = sources.map((_, i) => i).sort((a, b) => exact[b]! - Math.floor(exact[b]!) - (exact[a]! - Math.floor(exact[a]!)));
    for (let pass = 0; left > 0 && pass < 2; pass++) {
      for (const i of byRemainder) {
        if (left === 0) break;
        const spare = sources[i]!.values.length - quota[i]!;
        const give = pass === 0 ? Math.min(1, spare) : Math.min(left, spare);
        quota[i]! += give;
        left -= give;
      }
    }
    sources.forEach((s, i) => this._sampleInto(s.values, quota[i]!));
  }

  toJSON(): ReservoirState {
    return { seen: this.seen, missing: this.missing, values: [...this.values] };
  }

  static fromJSON(state: ReservoirState, seed = 1): Reservoir {
    const r = new Reservoir(RESERVOIR_SIZE, seed);
    r.seen = state.seen;
    r.missing = state.missing;
    r.values.push(...state.values.slice(0, RESERVOIR_SIZE));
    return r;
  }

  /** Appends k values of `from` drawn without replacement (Floyd's algorithm: O(k), no copy). */
  private _sampleInto(from: readonly number[], k: number): void {
    if (k >= from.length) {
      for (const v of from) this.values.push(v);
      return;
    }
    const chosen = new Set<number>();
    for (let j = from.length - k; j < from.length; j++) {
      const t = Math.floor(this._random() * (j + 1));
      chosen.add(chosen.has(t) ? j : t);
    }
    for (const i of chosen) this.values.push(from[i]!);
  }

  /** k values of `from` without replacement (a partial Fisher–Yates on a copy). */
  private _pick(from: readonly number[], k: number): number[] {
    const copy = from.slice();
    if (k >= from.length) return copy;
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this._random() * (copy.length - i));
      const t = copy[i]!;
      copy[i] = copy[j]!;
      copy[j] = t;
    }
    copy.length = k;
    return copy;
  }

  private readonly _random: () => number;
}

export interface CategoryState {
  missing: number;
  counts: Record<string, number>;
}

/** Counts per category, at most MAX_CATEGORIES distinct; later new ones count as OTHER_CATEGORY. */
export class CategoryCounter {
  missing = 0;
  readonly counts = new Map<string, number>();

  add(value: string | null | undefined): void {
    if (value === null || value === undefined) {
      this.missing++;
      return;
    }
    const current = this.counts.get(value);
    if (current !== undefined) this.counts.set(value, current + 1);
    else if (this.counts.size < MAX_CATEGORIES) this.counts.set(value, 1);
    else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  merge(other: CategoryCounter | CategoryState): void {
    this.missing += other.missing;
    const entries = other instanceof CategoryCounter ? other.counts.entries() : Object.entries(other.counts);
    for (const [key, count] of entries) {
      const current = this.counts.get(key);
      if (current !== undefined) this.counts.set(key, current + count);
      else if (this.counts.size < MAX_CATEGORIES) this.counts.set(key, count);
      else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + count);
    }
  }

  toJSON(): CategoryState {
    return { missing: this.missing, counts: Object.fromEntries(this.counts) };
  }

  static fromJSON(state: CategoryState): CategoryCounter {
    const c = new CategoryCounter();
    c.merge(state);
    return c;
  }
}

/** A feature's (or the predictions') values in one window: numeric or categorical. */
export type ValueAccumulator = { kind: 'numeric'; reservoir: Reservoir } | { kind: 'categorical'; counter: CategoryCounter };
export type ValueAccumulatorState = { kind: 'numeric'; reservoir: ReservoirState } | { kind: 'categorical'; counter: CategoryState };

export function newAccumulator(kind: 'numeric' | 'categorical', seed: number): ValueAccumulator {
  return kind === 'numeric' ? { kind, reservoir: new Reservoir(RESERVOIR_SIZE, seed) } : { kind, counter: new CategoryCounter() };
}

export function accumulatorToJSON(a: ValueAccumulator): ValueAccumulatorState {
  return a.kind === 'numeric' ? { kind: 'numeric', reservoir: a.reservoir.toJSON() } : { kind: 'categorical', counter: a.counter.toJSON() };
}

export function accumulatorFromJSON(s: ValueAccumulatorState, seed: number): ValueAccumulator {
  return s.kind === 'numeric'
    ? { kind: 'numeric', reservoir: Reservoir.fromJSON(s.reservoir, seed) }
    : { kind: 'categorical', counter: CategoryCounter.fromJSON(s.counter) };
}

/** Merges `from` into `into` when both are of one kind (a kind change between windows is skipped). */
export function mergeAccumulator(into: ValueAccumulator, from: ValueAccumulatorState): void {
  if (into.kind === 'numeric' && from.kind === 'numeric') into.reservoir.merge(from.reservoir);
  else if (into.kind === 'categorical' && from.kind === 'categorical') into.counter.merge(from.counter);
}

// ---------------------------------------------------------------------------------------
// Performance from delayed ground truth

/** Score bins for ROC AUC: scores in [0, 1] counted in SCORE_BINS equal bins per class. */
export const SCORE_BINS = 1000;

export interface PerformanceState {
  /** Rows with ground truth joined. */
  labelled: number;
  /** Classification: rows whose predicted label equals the truth. */
  correct: number;
  /** Per class (as text): true positives, false positives, false negatives; at most MAX_CATEGORIES classes. */
  classes: Record<string, [number, number, number]>;
  /** Per true class: positive-class score bins (sparse: bin index → count), for AUC. */
  scores: Record<string, Record<string, number>>;
  /** Regression: rows, Σ|e|, Σe². */
  regression: { n: number; absSum: number; sqSum: number };
}

export function emptyPerformance(): PerformanceState {
  return { labelled: 0, correct: 0, classes: {}, scores: {}, regression: { n: 0, absSum: 0, sqSum: 0 } };
}

/** One classification outcome: predicted and true label (as text), and the positive-class score if known. */
export function addClassification(p: PerformanceState, predicted: string, truth: string, score: number | null): void {
  p.labelled++;
  if (predicted === truth) {
    p.correct++;
    bump(p, predicted, 0);
  } else {
    bump(p, predicted, 1);
    bump(p, truth, 2);
  }
  if (score !== null && Number.isFinite(score)) {
    const bin = String(Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS))));
    const byClass = (p.scores[truth] ??= {});
    byClass[bin] = (byClass[bin] ?? 0) + 1;
  }
}

function bump(p: PerformanceState, label: string, slot: 0 | 1 | 2): void {
  let counts = p.classes[label];
  if (!counts) {
    if (Object.keys(p.classes).length >= MAX_CATEGORIES) return;
    counts = p.classes[label] = [0, 0, 0];
  }
  counts[slot]++;
}

export function addRegression(p: PerformanceState, predicted: number, truth: number): void {
  const e = predicted - truth;
  p.labelled++;
  p.regression.n++;
  p.regression.absSum += Math.abs(e);
  p.regression.sqSum += e * e;
}

export function mergePerformance(into: PerformanceState, from: PerformanceState): void {
  into.labelled += from.labelled;
  into.correct += from.correct;
  for (const [label, [tp, fp, fn]] of Object.entries(from.classes)) {
    const c = into.classes[label];
    if (c) {
      c[0] += tp;
      c[1] += fp;
      c[2] += fn;
    } else if (Object.keys(into.classes).length < MAX_CATEGORIES) {
      into.classes[label] = [tp, fp, fn];
    }
  }
  for (const [label, bins] of Object.entries(from.scores)) {
    const target = (into.scores[label] ??= {});
    for (const [bin, n] of Object.entries(bins)) target[bin] = (target[bin] ?? 0) + n;
  }
  into.regression.n += from.regression.n;
  into.regression.absSum += from.regression.absSum;
  into.regression.sqSum += from.regression.sqSum;
}

export interface PerformanceMetrics {
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  mae: number | null;
  rmse: number | null;
}

/**
 * Metrics of the accumulated outcomes. With a positive class (binary), precision, recall
 * and F1 are the positive class's and ROC AUC comes from the score bins (pairs within one
 * bin count as ties, so it is within 1/SCORE_BINS of the exact AUC); without one, they are
 * macro averages over the classes seen and there is no AUC.
 */
export function performanceMetrics(p: PerformanceState, positive: string | null): PerformanceMetrics {
  const out: PerformanceMetrics = { accuracy: null, precision: null, recall: null, f1: null, roc_auc: null, mae: null, rmse: null };
  const classified = p.labelled - p.regression.n;
  if (classified > 0) {
    out.accuracy = p.correct / classified;
    const prf = (label: string): [number, number, number] => {
      const [tp, fp, fn] = p.classes[label] ?? [0, 0, 0];
      const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
      const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
      return [precision, recall, precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0];
    };
    if (positive !== null) {
      [out.precision, out.recall, out.f1] = prf(positive);
      out.roc_auc = binnedAuc(p.scores, positive);
    } else {
      const labels = Object.keys(p.classes);
      const all = labels.map(prf);
      const mean = (i: number): number => all.reduce((s, x) => s + x[i]!, 0) / all.length;
      if (all.length > 0) [out.precision, out.recall, out.f1] = [mean(0), mean(1), mean(2)];
    }
  }
  if (p.regression.n > 0) {
    out.mae = p.regression.absSum / p.regression.n;
    out.rmse = Math.sqrt(p.regression.sqSum / p.regression.n);
  }
  return out;
}

/** P(score of a positive > score of a negative) + ½ P(same bin), from the score bins. */
function binnedAuc(scores: PerformanceState['scores'], positive: string): number | null {
  const pos = new Float64Array(SCORE_BINS);
  const neg = new Float64Array(SCORE_BINS);
  let nPos = 0;
  let nNeg = 0;
  for (const [label, bins] of Object.entries(scores)) {
    const target = label === positive ? pos : neg;
    for (const [bin, n] of Object.entries(bins)) {
      target[Number(bin)]! += n;
      if (label === positive) nPos += n;
      else nNeg += n;
    }
  }
  if (nPos === 0 || nNeg === 0) return null;
  let below = 0; // negatives in lower bins
  let sum = 0;
  for (let b = 0; b < SCORE_BINS; b++) {
    sum += pos[b]! * (below + neg[b]! / 2);
    below += neg[b]!;
  }
  return sum / (nPos * nNeg);
}
