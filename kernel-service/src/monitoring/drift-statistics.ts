/**
 * Data-drift statistics whose results equal SciPy 1.17's on the same samples
 * (`ks_2samp`, `chisquare`, `jensenshannon`, `wasserstein_distance`, `kstwo.sf`), and
 * Evidently's for what it builds on them (normed Wasserstein, PSI, binning, and the default
 * choice of test in `driftTest`). Pure functions: no I/O, no state.
 *
 * docs/monitoring.md ("Drift statistics") gives each definition; test/fixtures/drift holds
 * SciPy's answers, which kernel-service/test/monitoring/drift-statistics.test.ts compares to.
 * Sums follow numpy's pairwise order, and p-values SciPy's branches, so that results agree
 * to rounding rather than merely to the formula.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import { kolmogorovSmirnovSurvival } from './ks-distribution.js';
import { clip01, gcd, pairwiseSum, roundHalfEven } from './numeric.js';
import { alignCounts, type CategoryCounts, countCategories, toFrequencies } from './categorical.js';

/** A statistic with its p-value. */
export interface TestResult {
  readonly statistic: number;
  readonly pValue: number;
}

// ---------------------------------------------------------------------------------------
// Two-sample Kolmogorov–Smirnov test (scipy.stats.ks_2samp, two-sided, method='auto')

/** SciPy computes the exact p-value while both samples have at most this many values. */
const MAX_EXACT_SIZE = 10_000;

/**
 * The two-sample Kolmogorov–Smirnov test: the largest distance between the two empirical
 * CDFs, with SciPy's exact p-value when both samples have at most 10,000 values and the
 * asymptotic one (`kstwo.sf(D, round(n·m/(n+m)))`) otherwise — as `ks_2samp(a, b)`.
 */
export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>): TestResult {
  const x = sortedFinite(a, 'a');
  const y = sortedFinite(b, 'b');
  const n1 = x.length;
  const n2 = y.length;
  // The ECDF difference at every value of either sample (where it can change).
  let maxDiff = -Infinity;
  let minDiff = Infinity;
  for (let i = 0, j = 0; i < n1 || j < n2; ) {
    const v = j >= n2 || (i < n1 && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  let d = minS > maxDiff ? minS : maxDiff;

  if (Math.max(n1, n2) <= MAX_EXACT_SIZE) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    // SciPy snaps D to the lattice of attainable values k/lcm and reports that.
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1 };
    const p = n1 === n2 ? outsideSquare(n1, h) : outsideLines(n1, n2, g, h);
    // Out of range means rounding broke the recursion: SciPy warns and goes asymptotic.
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clip01(kolmogorovSmirnovSurvival(roundHalfEven(en), d)) };
}

/** P(D ≥ h/n) for two samples of n values each (Hodges), as SciPy's `_compute_prob_outside_square`. */
function outsideSquare(n: number, h: number): number {
  // 2·Σ ±binom(2n, n−kh)/binom(2n, n), evaluated Horner-like to avoid cancellation.
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * P(D ≥ h/lcm) for samples of m and n values: the share of lattice paths that leave the band
 * |x/m − y/n| < h/lcm, computed directly (not as 1 − inside) after Viehmann, with a sliding
 * window over one column, as SciPy's `_compute_outer_prob_inside_method`.
 */
function outsideLines(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}


// ---------------------------------------------------------------------------------------
// Pearson's chi-square test (scipy.stats.chisquare)

/** numpy's float64 eps**0.5: how closely SciPy wants the observed and expected totals to agree. */
const SUM_TOLERANCE = Number.EPSILON ** 0.5;

/**
 * Pearson's chi-square goodness-of-fit test, Σ (observed − expected)²/expected with k − 1
 * degrees of freedom, as `chisquare(observed, expected)`. The totals must agree to a
 * relative 1.5e-8, as SciPy demands. An expected 0 where something was observed gives an
 * infinite statistic and p = 0; a single category gives p = NaN (no degrees of freedom).
 */
export function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): TestResult {
  if (observed.length !== expected.length) {
    throw new RangeError(`observed has ${observed.length} categories but expected has ${expected.length}`);
  }
  if (observed.length === 0) throw new RangeError('chi-square needs at least one category');
  checkCounts(observed, 'observed');
  checkCounts(expected, 'expected');
  const observedTotal = pairwiseSum(observed);
  const expectedTotal = pairwiseSum(expected);
  if (Math.abs(observedTotal - expectedTotal) / Math.min(observedTotal, expectedTotal) > SUM_TOLERANCE) {
    throw new RangeError(
      `observed and expected totals must agree to a relative ${SUM_TOLERANCE}, got ${observedTotal} and ${expectedTotal}`
    );
  }
  const terms = Float64Array.from(observed, (o, i) => {
    const diff = o - expected[i]!;
    return (diff * diff) / expected[i]!;
  });
  const statistic = pairwiseSum(terms);
  return { statistic, pValue: chiSquareSurvival(statistic, observed.length - 1) };
}

/**
 * P(χ²_dof ≥ x), SciPy's `chdtrc(dof, x)` = Q(dof/2, x/2). stdlib's `gammainc` (0.3.1) gives
 * Q to about 1e-12, except where it switches to its large-x asymptotic series (x/2 > 1000,
 * its "method 7"): that series is off by up to 5% when dof/2 is near x/2 (1.6% at
 * dof = x = 5000, i.e. 5,001 categories). There Q comes from `upperGammaLargeX` instead.
 */
function chiSquareSurvival(x: number, dof: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 1;
  if (dof === 0) return x > 0 ? 0 : NaN;
  if (x === Infinity) return 0;
  if (x === 0) return 1;
  return x / 2 > 1000 ? upperGammaLargeX(dof / 2, x / 2) : gammainc(x / 2, dof / 2, true, true);
}

/**
 * The regularized upper incomplete gamma Q(a, x) for x > 1000: the continued fraction for
 * Q when x > a + 1, else 1 − the series for P, both scaled by xᵃe⁻ˣ/Γ(a), whose logarithm
 * comes from Stirling's series as a·(log1p(t) − t) + ½·log(a/2π) − S(a), t = (x − a)/a, so
 * that nothing large cancels.
 */
function upperGammaLargeX(a: number, x: number): number {
  // For a < 10, Q(a, x > 1000) < 1e-400: zero in doubles (and in SciPy).
  if (a < 10) return 0;
  const t = (x - a) / a;
  const logPrefix = a * (Math.log1p(t) - t) + 0.5 * Math.log(a / (2 * Math.PI)) - stirlingTail(a);
  if (x > a + 1) {
    // Modified Lentz for Q = prefix · 1/(x+1−a− 1·(1−a)/(x+3−a− 2·(2−a)/(x+5−a− …)))
    const tiny = 1e-300;
    let b = x + 1 - a;
    let c = 1 / tiny;
    let d = 1 / b;
    let h = d;
    for (let i = 1; i < 100_000; i++) {
      const an = -i * (i - a);
      b += 2;
      d = an * d + b;
      if (Math.abs(d) < tiny) d = tiny;
      c = b + an / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      const delta = d * c;
      h *= delta;
      if (Math.abs(delta - 1) <= 2 * Number.EPSILON) break;
    }
    return Math.exp(logPrefix + Math.log(h));
  }
  // P = prefix · Σ xⁿ/(a(a+1)…(a+n))
  let ap = a;
  let term = 1 / a;
  let sum = term;
  for (let i = 0; i < 100_000 && Math.abs(term) >= Math.abs(sum) * Number.EPSILON; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
  }
  return 1 - Math.exp(logPrefix) * sum;
}

/** log Γ(a) − ((a − ½)·log a − a + ½·log 2π), to double precision for a ≥ 10. */
function stirlingTail(a: number): number {
  const r = 1 / (a * a);
  return (
    (1 / 12 + r * (-1 / 360 + r * (1 / 1260 + r * (-1 / 1680 + r * (1 / 1188 + r * (-691 / 360360 + r * (1 / 156))))))) / a
  );
}

// ---------------------------------------------------------------------------------------
// Jensen–Shannon distance (scipy.spatial.distance.jensenshannon)

/**
 * The Jensen–Shannon distance √((KL(p‖m) + KL(q‖m))/2), m = (p + q)/2, with p and q first
 * divided by their totals and the logarithm in `base` (natural by default) — as
 * `jensenshannon(p, q, base)`. 0 for equal distributions; √ln 2 (1 in base 2) for disjoint ones.
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  if (p.length !== q.length) throw new RangeError(`p has ${p.length} entries but q has ${q.length}`);
  if (p.length === 0) throw new RangeError('Jensen-Shannon needs at least one category');
  checkCounts(p, 'p');
  checkCounts(q, 'q');
  if (base !== undefined && !(base > 0 && base !== 1 && Number.isFinite(base))) {
    throw new RangeError(`base must be a positive number other than 1, got ${base}`);
  }
  const pTotal = pairwiseSum(p);
  const qTotal = pairwiseSum(q);
  if (!(pTotal > 0) || !(qTotal > 0)) throw new RangeError('p and q must each have a positive total');
  const left = new Float64Array(p.length);
  const right = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / pTotal;
    const qi = q[i]! / qTotal;
    const mi = (pi + qi) / 2;
    left[i] = relativeEntropy(pi, mi);
    right[i] = relativeEntropy(qi, mi);
  }
  let js = pairwiseSum(left) + pairwiseSum(right);
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(js / 2);
}

/** scipy.special.rel_entr: x·log(x/y), 0 at x = 0 — with SciPy's care for x ≈ y and extreme ratios. */
function relativeEntropy(x: number, y: number): number {
  if (x <= 0 || y <= 0) return x === 0 && y >= 0 ? 0 : Infinity;
  const ratio = x / y;
  if (ratio > 0.5 && ratio < 2) return x * Math.log1p((x - y) / y);
  if (ratio > MIN_NORMAL && ratio < Infinity) return x * Math.log(ratio);
  return x * (Math.log(x) - Math.log(y));
}

/** C's DBL_MIN, the smallest normal double. */
const MIN_NORMAL = 2 ** -1022;

// ---------------------------------------------------------------------------------------
// Wasserstein distance (scipy.stats.wasserstein_distance, 1-D, unweighted)

/**
 * The first Wasserstein (earth mover's) distance between the samples' distributions,
 * ∫|U(t) − V(t)| dt over their empirical CDFs — as `wasserstein_distance(u, v)`.
 */
export function wasserstein(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const x = sortedFinite(u, 'u');
  const y = sortedFinite(v, 'v');
  const terms: number[] = [];
  // Walk the distinct values of both samples; between two neighbours both CDFs are flat.
  for (let i = 0, j = 0; i < x.length || j < y.length; ) {
    const at = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    while (i < x.length && x[i]! <= at) i++;
    while (j < y.length && y[j]! <= at) j++;
    const next = Math.min(i < x.length ? x[i]! : Infinity, j < y.length ? y[j]! : Infinity);
    if (next === Infinity) break;
    terms.push(Math.abs(i / x.length - j / y.length) * (next - at));
  }
  return pairwiseSum(terms);
}

/** Evidently's floor under the reference's standard deviation, so a constant reference does not divide by 0. */
const MIN_NORM = 0.001;

/**
 * The Wasserstein distance in units of the reference's spread, as Evidently's
 * `wasserstein_distance_norm`: wasserstein(u, v) / max(std(u), 0.001), with the population
 * standard deviation (numpy's `np.std`, ddof = 0).
 */
export function normedWasserstein(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  return wasserstein(reference, current) / Math.max(standardDeviation(reference), MIN_NORM);
}

/** numpy's `np.std(x)`: √(Σ(x − mean)²/n), sums in numpy's pairwise order. */
function standardDeviation(values: ArrayLike<number>): number {
  const mean = pairwiseSum(values) / values.length;
  const squares = Float64Array.from(values, (x) => (x - mean) * (x - mean));
  return Math.sqrt(pairwiseSum(squares) / values.length);
}

// ---------------------------------------------------------------------------------------
// Binning and the Population Stability Index (Evidently's get_binned_data and psi)

/** Frequencies of reference and current data over the same bins or values. */
export interface BinnedFrequencies {
  readonly reference: Float64Array;
  readonly current: Float64Array;
}

/** Above this many distinct reference values Evidently bins numeric data; at or below, it counts each value. */
const MAX_VALUES_COUNTED = 20;

/**
 * Evidently's `get_binned_data` for numeric data: with more than 20 distinct reference values,
 * equal-width bins over the range of both samples together — as many as numpy's Sturges rule
 * gives (⌈log₂(n) + 1⌉ for n values in all), or `bins` — and each sample's share per bin
 * (numpy's histogram: bins closed on the left, the last also on the right). Otherwise each
 * distinct value is its own category.
 */
export function binnedFrequencies(reference: ArrayLike<number>, current: ArrayLike<number>, bins?: number): BinnedFrequencies {
  if (bins !== undefined && !(Number.isInteger(bins) && bins >= 1)) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const ref = sortedFinite(reference, 'reference');
  const cur = sortedFinite(current, 'current');
  if (distinctCount(ref) <= MAX_VALUES_COUNTED) {
    // Values in the order met (reference first), as Evidently lists them.
    const aligned = alignCounts(countCategories(Array.from(reference)), countCategories(Array.from(current)));
    return { reference: toFrequencies(aligned.reference), current: toFrequencies(aligned.current) };
  }
  const edges = histogramEdges(ref, cur, bins);
  return { reference: histogram(ref, edges), current: histogram(cur, edges) };
}

/** numpy's `histogram_bin_edges(a ∪ b, bins)`, equal-width edges from `linspace`. */
function histogramEdges(a: Float64Array, b: Float64Array, bins: number | undefined): Float64Array {
  const min = Math.min(a[0]!, b[0]!);
  const max = Math.max(a[a.length - 1]!, b[b.length - 1]!);
  let count = bins;
  if (count === undefined) {
    // numpy's Sturges width, then as many bins as that width needs.
    const width = (max - min) / (Math.log2(a.length + b.length) + 1);
    count = width ? Math.ceil((max - min) / width) : 1;
  }
  const [first, last] = min === max ? [min - 0.5, max + 0.5] : [min, max];
  const step = (last - first) / count;
  const edges = Float64Array.from({ length: count + 1 }, (_, i) => i * step + first);
  edges[count] = last;
  return edges;
}

/** Share of the sorted values in each bin [e_i, e_i+1), the last bin closed. */
function histogram(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const below = (edge: number, inclusive: boolean): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < edge || (inclusive && sorted[mid] === edge)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const cumulative = Array.from(edges, (e, i) => below(e, i === bins));
  return Float64Array.from({ length: bins }, (_, i) => (cumulative[i + 1]! - cumulative[i]!) / sorted.length);
}

/** Evidently's stand-in for an empty bin or unseen category, so that PSI's logarithm stays finite. */
const EMPTY_SHARE = 0.0001;

/**
 * Evidently's fill for zero frequencies: 0.0001, or the smallest non-zero frequency / 10⁶
 * when that is 0.0001 or less.
 */
function fillZeros(frequencies: ArrayLike<number>): Float64Array {
  let smallest = Infinity;
  for (let i = 0; i < frequencies.length; i++) if (frequencies[i] !== 0 && frequencies[i]! < smallest) smallest = frequencies[i]!;
  if (smallest === Infinity) throw new RangeError('frequencies must not all be 0');
  const fill = smallest <= EMPTY_SHARE ? smallest / 10 ** 6 : EMPTY_SHARE;
  return Float64Array.from(frequencies, (f) => (f === 0 ? fill : f));
}

/**
 * PSI = Σ (r − c)·ln(r/c) over aligned reference and current frequencies, after Evidently's
 * zero fill (see `fillZeros`).
 */
export function psiFromFrequencies(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  if (reference.length !== current.length) throw new RangeError(`reference has ${reference.length} bins but current has ${current.length}`);
  checkCounts(reference, 'reference');
  checkCounts(current, 'current');
  const r = fillZeros(reference);
  const c = fillZeros(current);
  return pairwiseSum(Float64Array.from(r, (ri, i) => (ri - c[i]!) * Math.log(ri / c[i]!)));
}

/** The Population Stability Index of numeric data as Evidently computes it: `binnedFrequencies`, then PSI. */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, bins?: number): number {
  const { reference: r, current: c } = binnedFrequencies(reference, current, bins);
  return psiFromFrequencies(r, c);
}

// ---------------------------------------------------------------------------------------
// The drift decision (Evidently's default choice of test)

export type FeatureKind = 'numeric' | 'categorical';
export type DriftMethod = 'ks' | 'chisquare' | 'wasserstein' | 'jensenshannon' | 'psi';

/** Evidently's default thresholds. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1
};

const METHODS_FOR: Readonly<Record<FeatureKind, readonly DriftMethod[]>> = {
  numeric: ['ks', 'wasserstein', 'jensenshannon', 'psi'],
  categorical: ['chisquare', 'jensenshannon', 'psi']
};

const P_VALUE_METHODS: readonly DriftMethod[] = ['ks', 'chisquare'];

export interface DriftTestOptions {
  /** A method instead of Evidently's default choice. */
  method?: DriftMethod;
  /** Thresholds by method, over DEFAULT_THRESHOLDS. */
  thresholds?: Partial<Record<DriftMethod, number>>;
  /** The largest reference (values, or total count) that still gets a test with a p-value (Evidently: 1000). */
  smallReferenceMax?: number;
  /** Number of equal-width bins for numeric PSI and Jensen–Shannon instead of Sturges' rule. */
  bins?: number;
}

export interface DriftResult {
  readonly method: DriftMethod;
  readonly statistic: number;
  /** For KS and chi-square; null for the distances and PSI. */
  readonly pValue: number | null;
  readonly threshold: number;
  readonly drifted: boolean;
}

/**
 * Whether a feature drifted between reference and current data, by Evidently's default
 * choice: with a reference of at most 1,000 values (or counts), KS for numeric features and
 * chi-square for categorical ones, drifted when p ≤ 0.05 (KS) or p < 0.05 (chi-square); with
 * a larger one, the Wasserstein distance normed by the reference's standard deviation
 * (numeric) or the Jensen–Shannon distance (categorical), drifted when ≥ 0.1. PSI (drifted
 * when ≥ 0.1) and the other applicable methods on request. Numeric values that are not finite
 * are dropped first, as Evidently drops NaN and ±inf.
 */
export function driftTest(
  kind: 'numeric',
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options?: DriftTestOptions
): DriftResult;
export function driftTest(kind: 'categorical', reference: CategoryCounts, current: CategoryCounts, options?: DriftTestOptions): DriftResult;
export function driftTest(
  kind: FeatureKind,
  reference: ArrayLike<number> | CategoryCounts,
  current: ArrayLike<number> | CategoryCounts,
  options: DriftTestOptions = {}
): DriftResult {
  const { thresholds, smallReferenceMax, bins } = checkOptions(kind, options);
  if (kind === 'numeric') {
    const ref = finiteValues(reference as ArrayLike<number>, 'reference');
    const cur = finiteValues(current as ArrayLike<number>, 'current');
    const method = options.method ?? (ref.length <= smallReferenceMax ? 'ks' : 'wasserstein');
    switch (method) {
      case 'ks': {
        const { statistic, pValue } = ks2samp(ref, cur);
        return decide(method, statistic, pValue, thresholds[method]);
      }
      case 'wasserstein':
        return decide(method, normedWasserstein(ref, cur), null, thresholds[method]);
      case 'jensenshannon': {
        const { reference: r, current: c } = binnedFrequencies(ref, cur, bins);
        return decide(method, jensenShannon(r, c), null, thresholds[method]);
      }
      default:
        return decide(method, psi(ref, cur, bins), null, thresholds[method]);
    }
  }
  const aligned = alignCounts(reference as CategoryCounts, current as CategoryCounts);
  const refTotal = total(aligned.reference, 'reference');
  const curTotal = total(aligned.current, 'current');
  const method = options.method ?? (refTotal <= smallReferenceMax ? 'chisquare' : 'jensenshannon');
  switch (method) {
    case 'chisquare': {
      // The reference's counts scaled to the current total are the expected counts.
      const scale = curTotal / refTotal;
      const { statistic, pValue } = chiSquare(aligned.current, aligned.reference.map((c) => c * scale));
      return decide(method, statistic, pValue, thresholds[method]);
    }
    case 'jensenshannon':
      return decide(method, jensenShannon(toFrequencies(aligned.reference), toFrequencies(aligned.current)), null, thresholds[method]);
    default:
      return decide(method, psiFromFrequencies(toFrequencies(aligned.reference), toFrequencies(aligned.current)), null, thresholds[method]);
  }
}

/** Evidently's comparisons: KS drifts at p ≤ t, chi-square at p < t, distances and PSI at ≥ t. */
function decide(method: DriftMethod, statistic: number, pValue: number | null, threshold: number): DriftResult {
  const drifted = method === 'ks' ? pValue! <= threshold : method === 'chisquare' ? pValue! < threshold : statistic >= threshold;
  return { method, statistic, pValue, threshold, drifted };
}

function checkOptions(
  kind: FeatureKind,
  options: DriftTestOptions
): { thresholds: Record<DriftMethod, number>; smallReferenceMax: number; bins: number | undefined } {
  const allowed = METHODS_FOR[kind];
  if (!allowed) throw new RangeError(`feature kind must be "numeric" or "categorical", got "${String(kind)}"`);
  if (options.method !== undefined && !allowed.includes(options.method)) {
    throw new RangeError(`drift method "${options.method}" does not apply to ${kind} features; use one of ${allowed.join(', ')}`);
  }
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  for (const [method, threshold] of Object.entries(thresholds) as [DriftMethod, number][]) {
    if (!(method in DEFAULT_THRESHOLDS)) throw new RangeError(`unknown drift method "${method}" in thresholds`);
    const ok = P_VALUE_METHODS.includes(method) ? threshold >= 0 && threshold <= 1 : threshold >= 0 && Number.isFinite(threshold);
    if (!ok) {
      const range = P_VALUE_METHODS.includes(method) ? 'a p-value between 0 and 1' : 'a finite number ≥ 0';
      throw new RangeError(`threshold for "${method}" must be ${range}, got ${threshold}`);
    }
  }
  const smallReferenceMax = options.smallReferenceMax ?? 1000;
  if (!(Number.isInteger(smallReferenceMax) && smallReferenceMax >= 0)) {
    throw new RangeError(`smallReferenceMax must be an integer ≥ 0, got ${smallReferenceMax}`);
  }
  if (options.bins !== undefined && !(Number.isInteger(options.bins) && options.bins >= 1)) {
    throw new RangeError(`bins must be a positive integer, got ${options.bins}`);
  }
  return { thresholds, smallReferenceMax, bins: options.bins };
}

function finiteValues(values: ArrayLike<number>, name: string): Float64Array {
  if (typeof values?.length !== 'number') throw new TypeError(`${name} of a numeric feature must be an array of numbers`);
  const kept = Array.prototype.filter.call(values, (v: unknown) => typeof v === 'number' && Number.isFinite(v)) as number[];
  if (kept.length === 0) throw new RangeError(`${name} has no finite values`);
  return Float64Array.from(kept);
}

function total(counts: Float64Array, name: string): number {
  const sum = counts.reduce((s, c) => s + c, 0);
  if (!(sum > 0)) throw new RangeError(`${name} counts must have a positive total`);
  return sum;
}

// ---------------------------------------------------------------------------------------
// Shared numerics

/** Sorted copy, refusing empty samples and values that are not finite numbers. */
function sortedFinite(values: ArrayLike<number>, name: string): Float64Array {
  if (values.length === 0) throw new RangeError(`${name} is empty`);
  const out = Float64Array.from(values);
  for (const v of out) if (!Number.isFinite(v)) throw new RangeError(`${name} holds ${v}; drift statistics take finite numbers only`);
  return out.sort();
}

function checkCounts(values: ArrayLike<number>, name: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${name}[${i}] must be a finite number ≥ 0, got ${v}`);
  }
}

function distinctCount(sorted: Float64Array): number {
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) count++;
  return count;
}



export { kolmogorovSmirnovSurvival };
