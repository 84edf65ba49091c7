import { describe, expect, it } from 'vitest';
import {
  ADWIN,
  DDM,
  PageHinkley,
  restoreDetector,
  type DriftDetector
} from '../../src/monitoring/detectors.js';
import { mulberry32 } from './random.js';

// ---------------------------------------------------------------------------------------
// Streams

const bernoulli = (rng: () => number, p: number): number => (rng() < p ? 1 : 0);

/** Standard normal (Box–Muller). */
function gaussian(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * Error rate exactly 0.1 in every block of 10 (one error at a random place): stationary
 * without the runs of luck an i.i.d. stream has, which DDM takes for drift (see below).
 */
function stratified(rng: () => number): () => number {
  let i = 0;
  let at = 0;
  return () => {
    if (i % 10 === 0) at = Math.floor(rng() * 10);
    return i++ % 10 === at ? 1 : 0;
  };
}

/**
 * Python's `random.Random(seed)` (MT19937 seeded by init_by_array, 53-bit random(), and
 * `choices`), to replay the streams of river's own documented examples; river itself is
 * not installable here.
 */
class PythonRandom {
  constructor(seed: number) {
    const mt = this._mt;
    mt[0] = 19650218;
    for (let i = 1; i < 624; i++) mt[i] = Math.imul(1812433253, mt[i - 1]! ^ (mt[i - 1]! >>> 30)) + i;
    let i = 1;
    for (let k = 624; k > 0; k--) {
      mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1664525)) + (seed >>> 0);
      if (++i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    for (let k = 623; k > 0; k--) {
      mt[i] = (mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1566083941)) - i;
      if (++i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  random(): number {
    const a = this._next() >>> 5;
    const b = this._next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `choices(population, k=k)` or, with weights, `choices(population, weights, k=k)`. */
  choices(population: number[], k: number, weights?: number[]): number[] {
    if (!weights) return Array.from({ length: k }, () => population[Math.floor(this.random() * population.length)]!);
    const cumulative: number[] = [];
    weights.reduce((sum, w) => (cumulative.push(sum + w), sum + w), 0);
    const total = cumulative[cumulative.length - 1]!;
    return Array.from({ length: k }, () => {
      const r = this.random() * total;
      return population[cumulative.findIndex((c, j) => r < c || j === population.length - 1)]!;
    });
  }

  private _next(): number {
    const mt = this._mt;
    if (this._i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this._i = 0;
    }
    let y = mt[this._i++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private readonly _mt = new Uint32Array(624);
  private _i = 624;
}

/** Indices of the items after which drift was detected. */
function drifts(detector: DriftDetector, stream: Iterable<number>): number[] {
  const found: number[] = [];
  let i = 0;
  for (const x of stream) {
    detector.update(x);
    if (detector.driftDetected) found.push(i);
    i++;
  }
  return found;
}

/** Index of the first drift, or -1. */
function firstDrift(detector: DriftDetector, next: (i: number) => number, length: number): number {
  for (let i = 0; i < length; i++) {
    detector.update(next(i));
    if (detector.driftDetected) return i;
  }
  return -1;
}

const take = (next: () => number, n: number): number[] => Array.from({ length: n }, next);

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

/** Detection delays of `make()` on streams that change at item 1,000, one per seed. */
function delays(make: () => DriftDetector, stream: (rng: () => number) => (i: number) => number): number[] {
  return SEEDS.map((seed) => {
    const at = firstDrift(make(), stream(mulberry32(seed)), 3000);
    expect(at, `seed ${seed}: no alarm before the change`).toBeGreaterThanOrEqual(1000);
    return at - 1000;
  });
}

/**
 * Feeds `stream` to a detector straight through and, alongside, to one saved to JSON text
 * and restored at every point in `cuts`; both must signal the same at every item and end
 * in the same state.
 */
function expectRoundTripsContinue(make: () => DriftDetector, stream: number[], cuts: number[]): void {
  const straight = make();
  let restored = make();
  stream.forEach((x, i) => {
    if (cuts.includes(i)) restored = restoreDetector(JSON.parse(JSON.stringify(restored)));
    straight.update(x);
    restored.update(x);
    expect(restored.driftDetected, `drift at item ${i}`).toBe(straight.driftDetected);
    if (straight instanceof DDM) expect((restored as DDM).warningDetected, `warning at item ${i}`).toBe(straight.warningDetected);
  });
  expect(restored.toJSON()).toEqual(straight.toJSON());
}

// ---------------------------------------------------------------------------------------

describe('PythonRandom', () => {
  it("should replay Python's random.Random(42)", () => {
    // python3 -c "import random; r = random.Random(42); print(r.random(), r.choices([0, 1], k=5))"
    const rng = new PythonRandom(42);
    expect(rng.random()).toBe(0.6394267984578837);
    expect(rng.choices([0, 1], 5)).toEqual([0, 0, 0, 1, 1]);
  });
});

describe('DDM', () => {
  it("should signal where river's documented example does", () => {
    // river/drift/binary/ddm.py: "Warning detected at index 1084", "Change detected at
    // index 1334", "Warning detected at index 1492".
    const rng = new PythonRandom(42);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([0, 1], 1000, [0.3, 0.7])];
    const ddm = new DDM();
    const seen: string[] = [];
    let printWarning = true;
    stream.forEach((x, i) => {
      ddm.update(x);
      if (ddm.warningDetected && printWarning) {
        seen.push(`warning ${i}`);
        printWarning = false;
      }
      if (ddm.driftDetected) {
        seen.push(`drift ${i}`);
        printWarning = true;
      }
    });
    expect(seen).toEqual(['warning 1084', 'drift 1334', 'warning 1492']);
  });

  it("should record p_min and s_min and cross the thresholds as river's formulas give by hand", () => {
    // Errors at items 1, 11 and 21 of 40: p + s = k/n + sqrt(k/n (1 − k/n) / n) falls with
    // n while k stays 3, so its minimum is at n = 40: p_min = 3/40, s_min = sqrt(.075 · .925 / 40).
    const ddm = new DDM();
    for (let i = 0; i < 40; i++) ddm.update(i % 10 === 0 && i < 30 ? 1 : 0);
    const state = ddm.toJSON();
    expect(state.pMin).toBeCloseTo(0.075, 15);
    expect(state.sMin).toBeCloseTo(Math.sqrt((0.075 * 0.925) / 40), 15); // 0.041645...
    // Warning above p_min + 2 s_min = 0.158291, drift above p_min + 3 s_min = 0.199937.
    // 41st item an error: p + s = 4/41 + sqrt(4/41 · 37/41 / 41) = 0.143901 → nothing.
    ddm.update(1);
    expect([ddm.warningDetected, ddm.driftDetected]).toEqual([false, false]);
    // 42nd: 5/42 + 0.049970 = 0.169018 → warning.
    ddm.update(1);
    expect([ddm.warningDetected, ddm.driftDetected]).toEqual([true, false]);
    // 43rd: 6/43 + 0.052841 = 0.192376 → still a warning.
    ddm.update(1);
    expect([ddm.warningDetected, ddm.driftDetected]).toEqual([true, false]);
    // 44th: 7/44 + 0.055140 = 0.214231 → drift, and the warning is cleared.
    ddm.update(1);
    expect([ddm.warningDetected, ddm.driftDetected]).toEqual([false, true]);
    expect(ddm.toJSON().pMin).toBeCloseTo(0.075, 15);
  });

  it('should signal nothing during the warm start (n <= 30)', () => {
    const ddm = new DDM();
    // 29 correct then an error: p_min would be 0 and the error a drift, but nothing is
    // recorded or signalled until more than 30 items were seen.
    for (let i = 0; i < 30; i++) ddm.update(i < 29 ? 0 : 1);
    expect(ddm.toJSON()).toMatchObject({ n: 30, pMin: null, sMin: null, driftDetected: false, warningDetected: false });
  });

  it('should raise no alarm on long stationary error streams', () => {
    // DDM with river's defaults fires on 45 % of i.i.d. Bernoulli(0.1) streams of 5,000
    // (measured on 1,000 seeds; most within ~100 items of the warm start, when p_min and
    // s_min come from a few dozen items and a lucky run sets them low). River's DDM runs
    // the same arithmetic (see the documented example above), so it fires on those same
    // streams. The stationary case is therefore an error rate held at exactly 0.1 per
    // block of 10, where p + s cannot climb 3 s_min above its minimum.
    for (const seed of SEEDS) {
      expect(drifts(new DDM(), take(stratified(mulberry32(seed)), 5000)), `seed ${seed}`).toEqual([]);
    }
  });

  it('should detect an error rate going from 0.1 to 0.5 within 100 items', () => {
    const measured = delays(
      () => new DDM(),
      (rng) => {
        const before = stratified(rng);
        return (i) => (i < 1000 ? before() : bernoulli(rng, 0.5));
      }
    );
    // Over 1,000 seeds: median 47, 95th percentile 63, max 84.
    expect(Math.max(...measured)).toBeLessThanOrEqual(100);
  });

  it('should start afresh after a drift and on reset()', () => {
    const rng = new PythonRandom(42);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([0, 1], 1000, [0.3, 0.7])];
    const ddm = new DDM();
    stream.slice(0, 1335).forEach((x) => ddm.update(x));
    expect(ddm.driftDetected).toBe(true);
    ddm.update(1);
    expect(ddm.toJSON()).toMatchObject({ n: 1, errorRate: 1, driftDetected: false });

    ddm.reset();
    expect(ddm.toJSON()).toEqual(new DDM().toJSON());
    expect(drifts(ddm, stream)).toEqual(drifts(new DDM(), stream));
  });

  it('should continue identically after a JSON round trip', () => {
    const rng = new PythonRandom(42);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([0, 1], 1000, [0.3, 0.7])];
    // Before the warm start ends, in the warning zone, right after the drift, and later.
    expectRoundTripsContinue(() => new DDM(), stream, [0, 20, 31, 1090, 1335, 1500]);
  });

  it('should reject inputs other than 0 and 1, and contradictory options', () => {
    expect(() => new DDM().update(0.5)).toThrow('DDM takes 1 (error) or 0 (correct), got 0.5');
    expect(() => new DDM({ warningThreshold: 3, driftThreshold: 2 })).toThrow(
      'DDM driftThreshold (2) must be greater than warningThreshold (3)'
    );
  });
});

describe('PageHinkley', () => {
  it("should detect where river's documented example does", () => {
    // river/drift/page_hinkley.py: "Change detected at index 1006, input value: 5".
    const rng = new PythonRandom(12345);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([4, 5, 6, 7], 1000)];
    expect(drifts(new PageHinkley(), stream)).toEqual([1006]);
    expect(stream[1006]).toBe(5);
  });

  it("should keep river's cumulative sums, computed by hand", () => {
    // x = 1, 2, 3: mean 1, 1.5, 2; dev 0, 0.5, 1.
    const ph = new PageHinkley();
    [1, 2, 3].forEach((x) => ph.update(x));
    const s = ph.toJSON();
    const alpha = 0.9999;
    const up2 = -0.005 * alpha + 0.5 - 0.005; // 0.4900005
    const down2 = 0.005 * alpha + 0.5 + 0.005; // 0.5099995
    expect(s.mean).toBe(2);
    expect(s.sumIncrease).toBeCloseTo(up2 * alpha + 1 - 0.005, 14); // 1.48495149995
    expect(s.sumDecrease).toBeCloseTo(down2 * alpha + 1 + 0.005, 14); // 1.51494850005
    expect(s.minIncrease).toBeCloseTo(-0.005, 15);
    expect(s.maxDecrease).toBeCloseTo(down2 * alpha + 1 + 0.005, 14);
  });

  it('should raise no alarm on long stationary streams', () => {
    // Measured on 1,000 seeds of 5,000 items: Bernoulli(0.1) fires on 2 (seeds 23 and 389),
    // N(1, 0.3²) on 1 — streams whose walk really does stray 50 from its minimum, where
    // river's identical sums fire too. The threshold is in the stream's units: with
    // N(0, 1) noise the same defaults fire on 99 % of streams.
    for (const seed of SEEDS) {
      const rng = mulberry32(seed);
      expect(drifts(new PageHinkley(), take(() => bernoulli(rng, 0.1), 5000)), `Bernoulli, seed ${seed}`).toEqual([]);
      expect(drifts(new PageHinkley(), take(() => 1 + 0.3 * gaussian(rng), 5000)), `normal, seed ${seed}`).toEqual([]);
    }
  });

  it('should detect a mean shift of 0.5 (1.7 standard deviations) up or down within 130 items', () => {
    const shift = (to: number) => (rng: () => number) => (i: number) => (i < 1000 ? 1 : to) + 0.3 * gaussian(rng);
    // Over 1,000 seeds: median 96 both ways, max 121 up and 126 down.
    expect(Math.max(...delays(() => new PageHinkley(), shift(1.5)))).toBeLessThanOrEqual(130);
    expect(Math.max(...delays(() => new PageHinkley(), shift(0.5)))).toBeLessThanOrEqual(130);
  });

  it("should watch only the mode's direction", () => {
    const rng = mulberry32(1);
    const falling = Array.from({ length: 3000 }, (_, i) => (i < 1000 ? 1 : 0.5) + 0.3 * gaussian(rng));
    expect(drifts(new PageHinkley({ mode: 'up' }), falling)).toEqual([]);
    const down = drifts(new PageHinkley({ mode: 'down' }), falling);
    expect(down[0]).toBeGreaterThanOrEqual(1000);
    expect(drifts(new PageHinkley({ mode: 'both' }), falling)).toEqual(down);
  });

  it('should start afresh after a drift and on reset()', () => {
    const rng = new PythonRandom(12345);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([4, 5, 6, 7], 1000)];
    const ph = new PageHinkley();
    stream.slice(0, 1007).forEach((x) => ph.update(x));
    expect(ph.driftDetected).toBe(true);
    ph.update(4);
    expect(ph.toJSON()).toMatchObject({ n: 1, mean: 4, driftDetected: false });

    ph.reset();
    expect(ph.toJSON()).toEqual(new PageHinkley().toJSON());
    expect(drifts(ph, stream)).toEqual([1006]);
  });

  it('should continue identically after a JSON round trip', () => {
    const rng = new PythonRandom(12345);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([4, 5, 6, 7], 1000)];
    expectRoundTripsContinue(() => new PageHinkley(), stream, [0, 1, 29, 500, 1007, 1100]);
  });

  it('should reject non-finite inputs and invalid options', () => {
    expect(() => new PageHinkley().update(Number.NaN)).toThrow('PageHinkley takes finite numbers, got NaN');
    expect(() => new PageHinkley({ alpha: 1.5 })).toThrow('PageHinkley alpha must be in (0, 1], got 1.5');
  });
});

describe('ADWIN', () => {
  it("should detect where river's documented examples do", () => {
    // river/drift/adwin.py: "Change detected at index 1023, input value: 4".
    const rng = new PythonRandom(12345);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([4, 5, 6, 7], 1000)];
    expect(drifts(new ADWIN(), stream)).toEqual([1023]);
    expect(stream[1023]).toBe(4);

    // river/drift/test_adwin_regression.py: three changes found at [1023, 2015, 3007], the
    // later ones 32·31 items after the previous detection because the window starts afresh.
    const rng42 = new PythonRandom(42);
    const segments = [0, 1, 0, 1].flatMap((s) => rng42.choices(s === 0 ? [0, 1] : [4, 5, 6, 7], 1000));
    expect(drifts(new ADWIN(), segments)).toEqual([1023, 2015, 3007]);
  });

  it("should keep river's window statistics and buckets, computed by hand", () => {
    const adwin = new ADWIN();
    [1, 2, 3, 4, 5].forEach((x) => adwin.update(x));
    expect([adwin.width, adwin.estimation, adwin.variance]).toEqual([5, 3, 10]);
    // The sixth bucket of size 1 makes the two oldest (1 and 2) merge into one of size 2
    // with total 3 and variance 0 + 0 + 1·1/(1+1)·(1 − 2)² = 0.5.
    adwin.update(6);
    expect(adwin.toJSON()).toMatchObject({
      rows: [
        { totals: [3, 4, 5, 6], variances: [0, 0, 0, 0] },
        { totals: [3], variances: [0.5] }
      ],
      width: 6,
      total: 21,
      variance: 17.5
    });
  });

  it('should keep the variance of the window as its sum of squared deviations', () => {
    const rng = mulberry32(999);
    const values = take(() => 5 + 2 * gaussian(rng), 500);
    const adwin = new ADWIN({ clock: 1_000_000 });
    values.forEach((x) => adwin.update(x));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const expected = values.reduce((a, x) => a + (x - mean) ** 2, 0);
    expect(Math.abs(adwin.variance - expected) / expected).toBeLessThan(1e-9);
  });

  it('should raise no alarm on long stationary error streams', () => {
    // No alarm on any of 1,000 seeds of 5,000 Bernoulli(0.1) items, nor on the stratified ones.
    for (const seed of SEEDS) {
      const rng = mulberry32(seed);
      expect(drifts(new ADWIN(), take(() => bernoulli(rng, 0.1), 5000)), `Bernoulli, seed ${seed}`).toEqual([]);
      expect(drifts(new ADWIN(), take(stratified(rng), 5000)), `stratified, seed ${seed}`).toEqual([]);
    }
  });

  it('should detect an error rate going from 0.1 to 0.5 within 96 items', () => {
    const measured = delays(
      () => new ADWIN(),
      (rng) => (i) => bernoulli(rng, i < 1000 ? 0.1 : 0.5)
    );
    // Cuts are looked for every 32 items, at items 1,023 + 32k: delays 23, 55 or 87
    // (median 55 over 1,000 seeds, never more than 87).
    expect(measured.every((d) => (d - 23) % 32 === 0)).toBe(true);
    expect(Math.max(...measured)).toBeLessThanOrEqual(96);
  });

  it('should hold O(log width) buckets on a stream of 1,000,000 items', () => {
    const rng = mulberry32(7);
    const adwin = new ADWIN();
    let most = 0;
    for (let i = 0; i < 1_000_000; i++) {
      adwin.update(bernoulli(rng, 0.1));
      const buckets = adwin.bucketCount;
      most = Math.max(most, buckets);
      // Each row but the last keeps at least maxBuckets − 1 = 4 buckets of 2^i items, so
      // width >= 5·2^(rows−1) − 4, i.e. rows <= log2((width + 4) / 5) + 1, 5 buckets each.
      if (buckets > 5 * (Math.log2((adwin.width + 4) / 5) + 1)) {
        expect.fail(`${buckets} buckets for a window of ${adwin.width} at item ${i}`);
      }
    }
    // A window of 10^6 needs at most 18 rows of 5: 90 buckets (85 seen, ~1.6 kB of JSON).
    expect(most).toBeLessThanOrEqual(90);
  });

  it('should start afresh after a drift and on reset()', () => {
    const rng = new PythonRandom(12345);
    const stream = [...rng.choices([0, 1], 1000), ...rng.choices([4, 5, 6, 7], 1000)];
    const adwin = new ADWIN();
    stream.slice(0, 1024).forEach((x) => adwin.update(x));
    expect(adwin.driftDetected).toBe(true);
    // river drops the whole window after a drift, not only the part before the cut.
    adwin.update(50);
    expect([adwin.width, adwin.estimation, adwin.driftDetected]).toEqual([1, 50, false]);

    adwin.reset();
    expect(adwin.toJSON()).toEqual(new ADWIN().toJSON());
    expect(drifts(adwin, stream)).toEqual([1023]);
  });

  it('should continue identically after a JSON round trip', () => {
    const rng = new PythonRandom(42);
    const stream = [0, 1, 0, 1].flatMap((s) => rng.choices(s === 0 ? [0, 1] : [4, 5, 6, 7], 1000));
    // Empty, between clock ticks, right before and right after a drift, and later.
    expectRoundTripsContinue(() => new ADWIN(), stream, [0, 7, 1000, 1023, 1024, 2016, 3500]);
  });

  it('should refuse a stored state whose buckets do not add up', () => {
    const adwin = new ADWIN();
    [1, 2, 3, 4, 5, 6].forEach((x) => adwin.update(x));
    expect(() => ADWIN.fromJSON({ ...adwin.toJSON(), width: 7 })).toThrow('ADWIN state: the buckets hold 6 items but width is 7');
    expect(() => restoreDetector({ ...adwin.toJSON(), kind: 'kswin' })).toThrow();
    expect(() => restoreDetector({ ...adwin.toJSON(), version: 2 })).toThrow();
  });
});
