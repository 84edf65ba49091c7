/**
 * Concept-drift detectors for the stream of prediction errors that delayed ground truth
 * produces: DDM (binary errors), Page-Hinkley (a mean shift in any numeric error) and
 * ADWIN (an adaptive window over any numeric error).
 *
 * Each follows river's defaults and semantics (river/drift/binary/ddm.py,
 * river/drift/page_hinkley.py, river/drift/adwin.py and adwin_c.pyx), with the same
 * floating-point operations in the same order, so that on the same input stream it raises
 * drift at the same items. As in river, `driftDetected` is true only right after the update
 * that detected drift, and the next update starts the detector afresh.
 *
 * Monitoring outlives the process, so every detector's state goes to plain JSON
 * (`toJSON()`) and comes back (`fromJSON()`, checked with zod) to continue exactly where it
 * stopped. Deviations from river are listed in docs/monitoring.md.
 */
import { z } from 'zod';

/** What every detector offers. */
export interface DriftDetector {
  /** Feeds one item of the monitored stream. */
  update(x: number): void;
  /** True right after the update that detected drift; the next update resets the detector. */
  readonly driftDetected: boolean;
  /** Forgets everything seen, keeping the options. */
  reset(): void;
  /** The whole state, JSON-safe (no Infinity, no NaN), for `fromJSON` or `restoreDetector`. */
  toJSON(): DetectorState;
}

/** A detector that also signals a warning zone before drift (DDM). */
export interface DriftAndWarningDetector extends DriftDetector {
  /** True while the error rate is in the warning zone; false once drift is detected. */
  readonly warningDetected: boolean;
}

const STATE_VERSION = 1;

const Count = z.number().int().min(0);
const Finite = z.number().finite();

// ---------------------------------------------------------------------------------------
// DDM

export interface DDMOptions {
  /** Items to see before drift or warning can be signalled (river: warm_start). */
  warmStart: number;
  /** Warning when p + s exceeds p_min + warningThreshold · s_min (about 95 % confidence). */
  warningThreshold: number;
  /** Drift when p + s exceeds p_min + driftThreshold · s_min (about 99 % confidence). */
  driftThreshold: number;
}

export const DDM_DEFAULTS: Readonly<DDMOptions> = { warmStart: 30, warningThreshold: 2.0, driftThreshold: 3.0 };

export const DDMState = z.strictObject({
  kind: z.literal('ddm'),
  version: z.literal(STATE_VERSION),
  options: z.strictObject({ warmStart: Count, warningThreshold: Finite, driftThreshold: Finite }),
  n: Count,
  /** Running error rate p. */
  errorRate: z.number().min(0).max(1),
  /** p and s where p + s was lowest; null until more than warmStart items were seen. */
  pMin: z.number().min(0).max(1).nullable(),
  sMin: z.number().min(0).nullable(),
  warningDetected: z.boolean(),
  driftDetected: z.boolean()
});
export type DDMState = z.infer<typeof DDMState>;

/**
 * Drift Detection Method (Gama et al., 2004) on a stream of 1 (error) and 0 (correct).
 * The error rate p and its binomial standard deviation s = sqrt(p(1-p)/n) are compared
 * with the p_min and s_min recorded where p + s was lowest.
 */
export class DDM implements DriftAndWarningDetector {
  readonly options: Readonly<DDMOptions>;

  constructor(options: Partial<DDMOptions> = {}) {
    this.options = Object.freeze({ ...DDM_DEFAULTS, ...defined(options) });
    const { warmStart, warningThreshold, driftThreshold } = this.options;
    check(Number.isInteger(warmStart) && warmStart >= 0, `DDM warmStart must be a non-negative integer, got ${warmStart}`);
    check(warningThreshold > 0, `DDM warningThreshold must be positive, got ${warningThreshold}`);
    // Otherwise drift would always come first and the warning zone could never be seen.
    check(
      driftThreshold > warningThreshold,
      `DDM driftThreshold (${driftThreshold}) must be greater than warningThreshold (${warningThreshold})`
    );
  }

  static fromJSON(state: unknown): DDM {
    const s = DDMState.parse(state);
    const ddm = new DDM(s.options);
    check((s.pMin === null) === (s.sMin === null), 'DDM state: pMin and sMin must both be set or both be null');
    ddm._n = s.n;
    ddm._p = s.errorRate;
    ddm._pMin = s.pMin ?? Infinity;
    ddm._sMin = s.sMin ?? Infinity;
    // Recomputed the way update() computed it, so it is bit-identical to the stored run's.
    ddm._psMin = ddm._pMin + ddm._sMin;
    ddm._warning = s.warningDetected;
    ddm._drift = s.driftDetected;
    return ddm;
  }

  get driftDetected(): boolean {
    return this._drift;
  }

  get warningDetected(): boolean {
    return this._warning;
  }

  /** Items seen since the last reset. */
  get n(): number {
    return this._n;
  }

  /** The running error rate p since the last reset. */
  get errorRate(): number {
    return this._p;
  }

  /** @param x 1 for an error (wrong prediction), 0 for a correct one. */
  update(x: number): void {
    check(x === 0 || x === 1, `DDM takes 1 (error) or 0 (correct), got ${x}`);
    if (this._drift) this.reset();

    this._n += 1;
    this._p += (x - this._p) / this._n;
    const p = this._p;
    const s = Math.sqrt((p * (1 - p)) / this._n);

    if (this._n > this.options.warmStart) {
      if (p + s <= this._psMin) {
        this._pMin = p;
        this._sMin = s;
        this._psMin = this._pMin + this._sMin;
      }
      this._warning = p + s > this._pMin + this.options.warningThreshold * this._sMin;
      if (p + s > this._pMin + this.options.driftThreshold * this._sMin) {
        this._drift = true;
        this._warning = false;
      }
    }
  }

  reset(): void {
    this._n = 0;
    this._p = 0;
    this._pMin = Infinity;
    this._sMin = Infinity;
    this._psMin = Infinity;
    this._warning = false;
    this._drift = false;
  }

  toJSON(): DDMState {
    const recorded = Number.isFinite(this._psMin);
    return {
      kind: 'ddm',
      version: STATE_VERSION,
      options: { ...this.options },
      n: this._n,
      errorRate: this._p,
      pMin: recorded ? this._pMin : null,
      sMin: recorded ? this._sMin : null,
      warningDetected: this._warning,
      driftDetected: this._drift
    };
  }

  private _n = 0;
  private _p = 0;
  private _pMin = Infinity;
  private _sMin = Infinity;
  private _psMin = Infinity;
  private _warning = false;
  private _drift = false;
}

// ---------------------------------------------------------------------------------------
// Page-Hinkley

export const PAGE_HINKLEY_MODES = ['up', 'down', 'both'] as const;
export type PageHinkleyMode = (typeof PAGE_HINKLEY_MODES)[number];

export interface PageHinkleyOptions {
  /** Items to see before drift can be signalled. */
  minInstances: number;
  /** Magnitude of change tolerated per item. */
  delta: number;
  /** Drift when the cumulative deviation passes this (lambda), in the stream's units. */
  threshold: number;
  /** Forgetting factor applied to the cumulative deviations. */
  alpha: number;
  /** Watch for an increase of the mean ('up'), a decrease ('down') or both. */
  mode: PageHinkleyMode;
}

export const PAGE_HINKLEY_DEFAULTS: Readonly<PageHinkleyOptions> = {
  minInstances: 30,
  delta: 0.005,
  threshold: 50.0,
  alpha: 1 - 0.0001,
  mode: 'both'
};

export const PageHinkleyState = z.strictObject({
  kind: z.literal('page-hinkley'),
  version: z.literal(STATE_VERSION),
  options: z.strictObject({
    minInstances: Count,
    delta: Finite,
    threshold: Finite,
    alpha: Finite,
    mode: z.enum(PAGE_HINKLEY_MODES)
  }),
  n: Count,
  mean: Finite,
  sumIncrease: Finite,
  sumDecrease: Finite,
  /** Lowest sumIncrease so far; null before the first item. */
  minIncrease: Finite.nullable(),
  maxDecrease: Finite,
  driftDetected: z.boolean()
});
export type PageHinkleyState = z.infer<typeof PageHinkleyState>;

/**
 * Page-Hinkley test (Page, 1954): cumulative deviations of each item from the running
 * mean, with a fading factor; drift when the deviation climbs `threshold` above its lowest
 * point ('up') or falls `threshold` below its highest ('down').
 */
export class PageHinkley implements DriftDetector {
  readonly options: Readonly<PageHinkleyOptions>;

  constructor(options: Partial<PageHinkleyOptions> = {}) {
    this.options = Object.freeze({ ...PAGE_HINKLEY_DEFAULTS, ...defined(options) });
    const { minInstances, delta, threshold, alpha, mode } = this.options;
    check(Number.isInteger(minInstances) && minInstances >= 1, `PageHinkley minInstances must be a positive integer, got ${minInstances}`);
    check(delta >= 0 && Number.isFinite(delta), `PageHinkley delta must be a finite non-negative number, got ${delta}`);
    check(threshold > 0 && Number.isFinite(threshold), `PageHinkley threshold must be a finite positive number, got ${threshold}`);
    check(alpha > 0 && alpha <= 1, `PageHinkley alpha must be in (0, 1], got ${alpha}`);
    check(PAGE_HINKLEY_MODES.includes(mode), `PageHinkley mode must be one of ${PAGE_HINKLEY_MODES.join(', ')}, got ${mode}`);
  }

  static fromJSON(state: unknown): PageHinkley {
    const s = PageHinkleyState.parse(state);
    const ph = new PageHinkley(s.options);
    ph._n = s.n;
    ph._mean = s.mean;
    ph._sumIncrease = s.sumIncrease;
    ph._sumDecrease = s.sumDecrease;
    ph._minIncrease = s.minIncrease ?? Infinity;
    ph._maxDecrease = s.maxDecrease;
    ph._drift = s.driftDetected;
    return ph;
  }

  get driftDetected(): boolean {
    return this._drift;
  }

  /** Items seen since the last reset. */
  get n(): number {
    return this._n;
  }

  /** Running mean of the items since the last reset. */
  get mean(): number {
    return this._mean;
  }

  update(x: number): void {
    checkFinite('PageHinkley', x);
    if (this._drift) this.reset();

    this._n += 1;
    this._mean += (x - this._mean) / this._n;
    const dev = x - this._mean;
    const { alpha, delta } = this.options;
    this._sumIncrease = alpha * this._sumIncrease + dev - delta;
    this._sumDecrease = alpha * this._sumDecrease + dev + delta;
    if (this._sumIncrease < this._minIncrease) this._minIncrease = this._sumIncrease;
    if (this._sumDecrease > this._maxDecrease) this._maxDecrease = this._sumDecrease;

    if (this._n >= this.options.minInstances) {
      const up = this._sumIncrease - this._minIncrease > this.options.threshold;
      const down = this._maxDecrease - this._sumDecrease > this.options.threshold;
      const mode = this.options.mode;
      this._drift = mode === 'up' ? up : mode === 'down' ? down : up || down;
    }
  }

  reset(): void {
    this._n = 0;
    this._mean = 0;
    this._sumIncrease = 0;
    this._sumDecrease = 0;
    this._minIncrease = Infinity;
    // river starts it at -1, not -Infinity; the first item always lifts it to delta, so
    // this only matters for matching river's state exactly.
    this._maxDecrease = -1;
    this._drift = false;
  }

  toJSON(): PageHinkleyState {
    return {
      kind: 'page-hinkley',
      version: STATE_VERSION,
      options: { ...this.options },
      n: this._n,
      mean: this._mean,
      sumIncrease: this._sumIncrease,
      sumDecrease: this._sumDecrease,
      minIncrease: Number.isFinite(this._minIncrease) ? this._minIncrease : null,
      maxDecrease: this._maxDecrease,
      driftDetected: this._drift
    };
  }

  private _n = 0;
  private _mean = 0;
  private _sumIncrease = 0;
  private _sumDecrease = 0;
  private _minIncrease = Infinity;
  private _maxDecrease = -1;
  private _drift = false;
}

// ---------------------------------------------------------------------------------------
// ADWIN

export interface ADWINOptions {
  /** Significance of the cut test; lower means fewer false alarms and later detection. */
  delta: number;
  /** Look for a cut every `clock` items (1 = every item). */
  clock: number;
  /** Buckets of each size kept before the two oldest merge into one of twice the size. */
  maxBuckets: number;
  /** Fewest items on each side of a cut. */
  minWindowLength: number;
  /** No cut is looked for until the window holds more than this many items. */
  gracePeriod: number;
}

export const ADWIN_DEFAULTS: Readonly<ADWINOptions> = {
  delta: 0.002,
  clock: 32,
  maxBuckets: 5,
  minWindowLength: 5,
  gracePeriod: 10
};

const BucketRow = z.strictObject({ totals: z.array(Finite), variances: z.array(Finite) });

export const ADWINState = z.strictObject({
  kind: z.literal('adwin'),
  version: z.literal(STATE_VERSION),
  options: z.strictObject({
    delta: Finite,
    clock: Count,
    maxBuckets: Count,
    minWindowLength: Count,
    gracePeriod: Count
  }),
  /** Row i holds buckets of 2^i items, oldest first. */
  rows: z.array(BucketRow),
  width: Count,
  total: Finite,
  variance: Finite,
  tick: Count,
  driftDetected: z.boolean()
});
export type ADWINState = z.infer<typeof ADWINState>;

/** Buckets of one size (2^row items each), oldest first: their sums and their variances. */
interface Row {
  totals: number[];
  variances: number[];
}

/**
 * ADaptive WINdowing (Bifet & Gavaldà, 2007): a window of recent items summarised in
 * exponential-histogram buckets (at most `maxBuckets` per size, so memory grows with the
 * logarithm of the window), cut where an older and a newer part have means too far apart
 * for the Hoeffding-style bound at significance `delta`.
 */
export class ADWIN implements DriftDetector {
  readonly options: Readonly<ADWINOptions>;

  constructor(options: Partial<ADWINOptions> = {}) {
    this.options = Object.freeze({ ...ADWIN_DEFAULTS, ...defined(options) });
    const { delta, clock, maxBuckets, minWindowLength, gracePeriod } = this.options;
    check(delta > 0 && delta < 1, `ADWIN delta must be in (0, 1), got ${delta}`);
    check(Number.isInteger(clock) && clock >= 1, `ADWIN clock must be a positive integer, got ${clock}`);
    // With one bucket per size a merge empties a row, and river then drops an empty bucket
    // as if it held items; two or more keep every row non-empty.
    check(Number.isInteger(maxBuckets) && maxBuckets >= 2, `ADWIN maxBuckets must be an integer of at least 2, got ${maxBuckets}`);
    check(
      Number.isInteger(minWindowLength) && minWindowLength >= 1,
      `ADWIN minWindowLength must be a positive integer, got ${minWindowLength}`
    );
    check(Number.isInteger(gracePeriod) && gracePeriod >= 0, `ADWIN gracePeriod must be a non-negative integer, got ${gracePeriod}`);
    this.reset();
  }

  static fromJSON(state: unknown): ADWIN {
    const s = ADWINState.parse(state);
    const adwin = new ADWIN(s.options);
    let width = 0;
    s.rows.forEach((row, i) => {
      check(
        row.totals.length === row.variances.length && row.totals.length >= 1 && row.totals.length <= s.options.maxBuckets,
        `ADWIN state: row ${i} must hold 1 to ${s.options.maxBuckets} buckets with one variance each`
      );
      width += row.totals.length * 2 ** i;
    });
    check(width === s.width, `ADWIN state: the buckets hold ${width} items but width is ${s.width}`);
    adwin._rows = s.rows.map((row) => ({ totals: [...row.totals], variances: [...row.variances] }));
    adwin._width = s.width;
    adwin._total = s.total;
    adwin._variance = s.variance;
    adwin._tick = s.tick;
    adwin._drift = s.driftDetected;
    return adwin;
  }

  get driftDetected(): boolean {
    return this._drift;
  }

  /** Items in the current window. */
  get width(): number {
    return this._width;
  }

  /** Mean of the current window (0 when empty). */
  get estimation(): number {
    return this._width === 0 ? 0 : this._total / this._width;
  }

  /** Sum of squared deviations from the mean over the window (river's `variance`). */
  get variance(): number {
    return this._variance;
  }

  /** Buckets held: the detector's memory, O(maxBuckets · log2(width)). */
  get bucketCount(): number {
    return this._rows.reduce((sum, row) => sum + row.totals.length, 0);
  }

  update(x: number): void {
    checkFinite('ADWIN', x);
    // As river: after a drift the whole window goes, not only the part before the cut.
    if (this._drift) this.reset();
    this._insert(x);
    this._drift = this._detectChange();
  }

  reset(): void {
    this._rows = [{ totals: [], variances: [] }];
    this._width = 0;
    this._total = 0;
    this._variance = 0;
    this._tick = 0;
    this._drift = false;
  }

  toJSON(): ADWINState {
    // Every row holds at least one bucket, except row 0 of an empty window.
    const rows = this._width === 0 ? [] : this._rows;
    return {
      kind: 'adwin',
      version: STATE_VERSION,
      options: { ...this.options },
      rows: rows.map((row) => ({ totals: [...row.totals], variances: [...row.variances] })),
      width: this._width,
      total: this._total,
      variance: this._variance,
      tick: this._tick,
      driftDetected: this._drift
    };
  }

  /** Adds x as a bucket of one, updating width, total and variance incrementally. */
  private _insert(x: number): void {
    this._row(0).totals.push(x);
    this._row(0).variances.push(0);
    this._width += 1;
    if (this._width > 1) {
      const d = x - this._total / (this._width - 1);
      this._variance += ((this._width - 1) * d * d) / this._width;
    }
    this._total += x;
    this._compress();
  }

  /** A row of more than maxBuckets buckets merges its two oldest into the next row, and so on up. */
  private _compress(): void {
    const max = this.options.maxBuckets;
    for (let i = 0; i < this._rows.length && this._rows[i]!.totals.length === max + 1; i++) {
      const row = this._rows[i]!;
      const next = this._row(i + 1);
      const size = 2 ** i;
      const d = row.totals[0]! / size - row.totals[1]! / size;
      // size·size/(size+size) = size/2: the between-bucket part of the merged variance.
      next.totals.push(row.totals[0]! + row.totals[1]!);
      next.variances.push(row.variances[0]! + row.variances[1]! + size * 0.5 * d * d);
      row.totals.splice(0, 2);
      row.variances.splice(0, 2);
      if (next.totals.length <= max) break;
    }
  }

  /**
   * Every `clock` items, tries each cut between buckets, oldest first; while one shows a
   * significant difference of means, drops the oldest bucket and tries again.
   */
  private _detectChange(): boolean {
    this._tick += 1;
    if (this._tick % this.options.clock !== 0 || this._width <= this.options.gracePeriod) return false;

    const minLength = this.options.minWindowLength;
    let detected = false;
    let cutFound = true;
    while (cutFound) {
      cutFound = false;
      let n0 = 0;
      let n1 = this._width;
      let u0 = 0;
      let u1 = this._total;
      // river also accumulates each side's variance here, but its test uses the whole
      // window's variance, so those sums are left out.
      scan: for (let i = this._rows.length - 1; i >= 0; i--) {
        const row = this._rows[i]!;
        const size = 2 ** i;
        for (let k = 0; k < row.totals.length; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.totals[k]!;
          u1 -= row.totals[k]!;
          // The newest bucket: nothing would be left after this cut.
          if (i === 0 && k === row.totals.length - 1) break scan;
          if (n1 >= minLength && n0 >= minLength && this._isCut(n0, n1, u0 / n0 - u1 / n1)) {
            cutFound = true;
            detected = true;
            if (this._width > 0) this._dropOldest();
            break scan;
          }
        }
      }
    }
    return detected;
  }

  /** The cut test with river's bound: ε = sqrt(2·m·σ²·δ') + 2/3·δ'·m. */
  private _isCut(n0: number, n1: number, deltaMean: number): boolean {
    const minLength = this.options.minWindowLength;
    const deltaPrime = Math.log((2 * Math.log(this._width)) / this.options.delta);
    const mRecip = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1);
    const epsilon = Math.sqrt(2 * mRecip * (this._variance / this._width) * deltaPrime) + (2 / 3) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }

  /** Drops the oldest bucket (in the last row), taking its items out of the statistics. */
  private _dropOldest(): void {
    const last = this._rows.length - 1;
    const row = this._rows[last]!;
    const n = 2 ** last;
    const u = row.totals[0]!;
    const v = row.variances[0]!;
    const mu = u / n;
    this._width -= n;
    this._total -= u;
    const muWindow = this._total / this._width;
    this._variance -= v + (n * this._width * (mu - muWindow) * (mu - muWindow)) / (n + this._width);
    row.totals.shift();
    row.variances.shift();
    if (row.totals.length === 0) this._rows.pop();
  }

  /** Row i, created (empty) if the window has not reached that size yet. */
  private _row(i: number): Row {
    if (i === this._rows.length) this._rows.push({ totals: [], variances: [] });
    return this._rows[i]!;
  }

  private _rows: Row[] = [];
  private _width = 0;
  private _total = 0;
  private _variance = 0;
  private _tick = 0;
  private _drift = false;
}

// ---------------------------------------------------------------------------------------
// Restoring any detector

export const DetectorState = z.discriminatedUnion('kind', [DDMState, PageHinkleyState, ADWINState]);
export type DetectorState = z.infer<typeof DetectorState>;

/** Rebuilds whichever detector a `toJSON()` came from. */
export function restoreDetector(state: unknown): DriftDetector {
  const parsed = DetectorState.parse(state);
  switch (parsed.kind) {
    case 'ddm':
      return DDM.fromJSON(parsed);
    case 'page-hinkley':
      return PageHinkley.fromJSON(parsed);
    case 'adwin':
      return ADWIN.fromJSON(parsed);
  }
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RangeError(message);
}

/** A NaN or an infinity would poison the sums for good, and they are persisted. */
function checkFinite(detector: string, x: number): void {
  check(Number.isFinite(x), `${detector} takes finite numbers, got ${x}`);
}

/** Options given as undefined fall back to the default, as in resolveOptions. */
function defined<T extends object>(options: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
