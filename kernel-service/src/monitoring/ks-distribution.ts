/**
 * The one-sample two-sided Kolmogorov–Smirnov distribution (`scipy.stats.kstwo`), which
 * the large-sample branch of the two-sample test needs, with the double-double arithmetic
 * its Smirnov tail uses to keep SciPy's precision.
 */
import { clip01, frexp, identity, ldexp, matmul, pairwiseSum, polyval, productOf } from './numeric.js';

// ---------------------------------------------------------------------------------------
// The one-sample two-sided Kolmogorov–Smirnov distribution (scipy.stats.kstwo)

/**
 * P(D_n ≥ d) for the two-sided one-sample statistic D_n: `scipy.stats.kstwo.sf(d, n)`, which
 * the asymptotic branch of `ks2samp` uses. It follows SciPy's choice among exact and
 * approximate methods (Simard & L'Ecuyer 2011): Ruben–Gambino's closed forms near the ends,
 * Durbin's matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion, Pelz–Good's expansion, and
 * twice the one-sided Smirnov tail where the two tails cannot overlap or barely do.
 */
export function kolmogorovSmirnovSurvival(n: number, d: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (Number.isNaN(d)) return NaN;
  if (d <= 0.5 / n) return 1; // below the support
  if (d >= 1) return 0;
  return kolmogorovSurvivalInSupport(n, d);
}

function kolmogorovSurvivalInSupport(n: number, x: number): number {
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    const cdf =
      n <= 140 ? productOf(n, (i) => i * (1 / n) * (2 * t - 1)) : Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSurvival(n, x)); // the two one-sided tails cannot both happen
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip01(1 - durbinMatrixCdf(n, x));
    if (nxSquared <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSurvival(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip01(2 * smirnovSurvival(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
// Bernoulli numbers B_2j/(2j)/(2j−1), j = 8…1, highest power first (for Horner).
const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2
];
const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;

/** log(n!/nⁿ) by Stirling's series, with n·log(n) taken out first to avoid cancellation. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * polyval(STIRLING_COEFFS, rn / n);
}

/**
 * P(D_n ≤ d) by Durbin's matrix method as Marsaglia, Tsang & Wang evaluate it: the (k,k)
 * entry of Hⁿ·n!/nⁿ, with powers of 2¹²⁸ kept aside so that nothing over- or underflows.
 */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let power: Float64Array = identity(m);
  let exponent = 0; // of the power
  let hExponent = 0; // of H
  for (let nn = n; nn > 0; nn = Math.floor(nn / 2)) {
    if (nn % 2) {
      power = matmul(power, H, m);
      exponent += hExponent;
    }
    H = matmul(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + k - 1]!) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i] = H[i]! / TWO_128;
      hExponent += 128;
    }
  }
  let p = power[(k - 1) * m + k - 1]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      exponent -= 128;
    }
  }
  return clip01(exponent !== 0 ? ldexp(p, exponent) : p);
}

/** P(D_n ≤ d) by Pomeranz's recursion (two rows of convolutions with Poisson-like weights). */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  // (g/n)^m/m!, (2g/n)^m/m!, ((1−2g)/n)^m/m!
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // The wanted slice of the full convolution of V0[k1−V0s …][0, ln2) with pwrs[0, ln2).
      const start = k1 - V0s;
      const la = Math.min(ln2, npwrs - start); // numpy's slice stops at the row's end
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = -Infinity;
      for (let c = 0; c < convLen; c++) {
        const at = convStart + c;
        let s = 0;
        for (let a = Math.max(0, at - ln2 + 1); a <= Math.min(at, la - 1); a++) s += V0[start + a]! * pwrs[at - a]!;
        V1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < TWO_M128) {
        for (let c = 0; c < V1.length; c++) V1[c] = V1[c]! * TWO_128;
        exponent -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > TWO_128) {
      ans *= TWO_M128;
      exponent += 128;
    }
    ans *= m;
  }
  return clip01(exponent !== 0 ? ldexp(ans, exponent) : ans);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;

/**
 * P(D_n ≤ x) by Pelz & Good's expansion K0 + K1/√n + K2/n + K3/n^1.5 of the Li-Chien /
 * Korolyuk series, transformed with Jacobi theta functions to converge for small √n·x.
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI_SQUARED / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * z2)) / 16;
  const k3d = (PI_SIX * (5 - 30 * z2)) / 64;
  const k3c = (PI_FOUR * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI_SQUARED * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  // Horner in q^(8k) over the odd integers m = 2k−1.
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qpower + coeffs[i]!;
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT_2PI) / divisors[i]!;
  // The other sums, over all integers k, for K2 and K3.
  q = Math.exp(-PI_SQUARED / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  const k2terms = new Float64Array(maxk);
  const k3terms = new Float64Array(maxk);
  for (let i = 0; i < maxk; i++) {
    const k = maxk - i;
    const kSquared = k ** 2;
    const kPi = Math.PI * k;
    const qk = q ** kSquared;
    k2terms[i] = kSquared * qk;
    k3terms[i] = (sqrt3z + kPi) * (sqrt3z - kPi) * kSquared * qk;
  }
  K[2] = K[2]! + pairwiseSum(k2terms) * ((PI_SQUARED * SQRT_2PI) / (-36 * z3));
  K[3] = K[3]! + pairwiseSum(k3terms) * ((PI_SQUARED * SQRT_2PI) / (216 * z6));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / (n * 1.0) ** (i / 2);
  return sum;
}

// One-sided Smirnov tail P(D_n⁺ ≥ x), in double-double arithmetic as SciPy's `smirnov`.

const EPSILON = Number.EPSILON;
const MINLOG = -7.451332191019412076235e2; // log(2^-1075)
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const SM_MAX_EXPONENT = 960;

/**
 * P(D_n⁺ ≥ x) by the Birnbaum–Tingey sum x·Σ_j C(n,j)(1−x−j/n)^(n−j)(x+j/n)^(j−1), with its
 * terms in double-double and their binomials and powers kept as mantissa and exponent.
 * SciPy also has an "upper sum" variant for n·x < 3; kstwo never asks for one (it answers
 * n·x ≤ 1 itself and calls this only for n·x² ≥ 2.2 or x ≥ 0.5), so it is not here.
 */
function smirnovSurvival(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  // floor(n·x) and its remainder, exactly.
  const nxD = mulDoubleDD(n, dd(x));
  const nxFloor = ddFloor(nxD);
  let alpha = ddSub(nxD, nxFloor).hi;
  let nxfl = Math.trunc(nxFloor.hi);
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) n1mxfl -= 1;
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) return 1 - x * ddPow(ddAddDouble(dd(1), x), n - 1).hi;
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return ddPow(ddAddDouble(dd(1), -x), n).hi;
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    // p ~ exp(−(6nx+1)²/18n)
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp);
  }
  const nTerms = n1mxfl + 1;
  const vmid = Math.trunc(n / 2);
  let Cman = dd(1);
  let Cexpt = 0;
  let Aj = ddDiv(ddPow(ddDiv(ddAddDouble(dd(1), -x), ddAddDouble(dd(1), 0)), n), dd(x));
  let AjSum = ddAdd(dd(0), Aj);
  [Cman, Cexpt] = nextBinomial(Cman, Cexpt, n, 0);
  for (let j = 1; j < nTerms; j++) {
    Aj = birnbaumTingeyTerm(n, x, j, Cman, Cexpt);
    const nonZero = Aj.hi !== 0 || Aj.lo !== 0;
    if (Number.isFinite(Aj.hi) && nonZero) AjSum = ddAdd(AjSum, Aj);
    if (nonZero) {
      // Safe to stop once the remaining terms cannot move the sum.
      if (4 * (nTerms - j) * Math.abs(Aj.hi) < EPSILON * AjSum.hi && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
    [Cman, Cexpt] = nextBinomial(Cman, Cexpt, n, j);
  }
  return clip01(mulDoubleDD(x, AjSum).hi);
}

/** C(n, v)·(1−x−v/n)^(n−v)·(x+v/n)^(v−1), the binomial given as mantissa·2^exponent. */
function birnbaumTingeyTerm(n: number, x: number, v: number, Cman: DD, Cexpt: number): DD {
  const [t2, t2E] = pow2Scaled(ddSubDouble(ddDiv(dd(n - v), dd(n)), x), n - v);
  const [t1, t1E] = pow2Scaled(ddAddDouble(ddDiv(dd(v), dd(n)), x), v - 1);
  const ans = ddMul(ddMul(t1, t2), Cman);
  return ddLdexp(ans, Cexpt + t1E + t2E);
}

/** C(n, j+1) from C(n, j), as a mantissa in [0.5, 1) and a separate exponent. */
function nextBinomial(Cman: DD, Cexpt: number, n: number, j: number): [DD, number] {
  const [man, expt] = ddFrexp(ddMul(Cman, ddDiv(dd(n - j), dd(j + 1))));
  return [man, Cexpt + expt];
}

/** a^m as a mantissa and a power of 2, splitting m so that no partial power underflows. */
function pow2Scaled(a: DD, m: number): [DD, number] {
  if (m <= 0) {
    if (m === 0) return [dd(1), 0];
    const [ans, aE1] = pow2Scaled(a, -m);
    const [inv, aE2] = ddFrexp(ddDiv(dd(1), ans));
    return [inv, -aE1 + aE2];
  }
  const [y, yE] = ddFrexp(a);
  if (m === 1) return [y, yE];
  let maxExpt = SM_MAX_EXPONENT;
  if ((m * (y.hi - 1)) / y.hi < -SM_MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(y.hi) / Math.LN2;
    if (m * lg2y <= -SM_MAX_EXPONENT) maxExpt = Math.trunc(nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
  }
  if (m <= maxExpt) {
    const [ans, ansE] = ddFrexp(ddPow(y, m));
    return [ans, ansE + m * yE];
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  const [y2r, y2rE] = pow2Scaled(y, r);
  const [y2m, y2mE] = pow2Scaled(y, maxExpt);
  const [y2mq, y2mqE] = pow2Scaled(y2m, q);
  const [ans, ansE] = ddFrexp(ddMul(y2r, y2mq));
  return [ans, ansE + y2mqE + y2mE * q + y2rE + m * yE];
}

function nextPowerOf2(x: number): number {
  const q = ldexp(x, 1 - 53);
  let L = Math.abs(q + x);
  if (L === 0) L = Math.abs(x);
  else if (Math.trunc(L) === L) L = Math.trunc(L);
  return L;
}

/** a^m for a double-double a: pow of the high part, corrected for the low part. */
function ddPow(a: DD, m: number): DD {
  if (m <= 0) return m === 0 ? dd(1) : ddDiv(dd(1), ddPow(a, -m));
  if (a.hi === 0 && a.lo === 0) return dd(0);
  const ans = a.hi ** m;
  const r = a.lo / a.hi;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    adj = Math.abs(adj) < 1e-4 ? adj + m * r * (((m - 1) / 2) * r) : Math.expm1(m * Math.log1p(r));
  }
  return ddAddDouble(dd(ans), ans * adj);
}

// Double-double arithmetic (the operations of the qd package that SciPy's smirnov uses).

interface DD {
  readonly hi: number;
  readonly lo: number;
}

const dd = (hi: number, lo = 0): DD => ({ hi, lo });
const SPLITTER = 134217729; // 2^27 + 1

function twoSum(a: number, b: number): [number, number] {
  const s = a + b;
  const c = s - a;
  return [s, a - (s - c) + (b - c)];
}

function quickTwoSum(a: number, b: number): [number, number] {
  const s = a + b;
  return [s, b - (s - a)];
}

/** a·b and its rounding error exactly (Dekker's split, as the fma that SciPy uses gives). */
function twoProd(a: number, b: number): [number, number] {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function ddAdd(x: DD, y: DD): DD {
  let [s1, s2] = twoSum(x.hi, y.hi);
  const [t1, t2] = twoSum(x.lo, y.lo);
  s2 += t1;
  [s1, s2] = quickTwoSum(s1, s2);
  s2 += t2;
  [s1, s2] = quickTwoSum(s1, s2);
  return dd(s1, s2);
}

function ddAddDouble(x: DD, b: number): DD {
  const [s1, s2] = twoSum(x.hi, b);
  const [h, l] = quickTwoSum(s1, s2 + x.lo);
  return dd(h, l);
}

const ddSubDouble = (x: DD, b: number): DD => ddAddDouble(x, -b);
const ddSub = (x: DD, y: DD): DD => ddAdd(x, dd(-y.hi, -y.lo));

function ddMul(x: DD, y: DD): DD {
  const [p1, p2] = twoProd(x.hi, y.hi);
  const [h, l] = quickTwoSum(p1, p2 + (x.hi * y.lo + x.lo * y.hi));
  return dd(h, l);
}

function mulDoubleDD(a: number, y: DD): DD {
  const [p1, e1] = twoProd(a, y.hi);
  const [p2, e2] = twoProd(a, y.lo);
  const [h, l] = quickTwoSum(p1, e2 + p2 + e1);
  return dd(h, l);
}

function ddDiv(x: DD, y: DD): DD {
  const q1 = x.hi / y.hi;
  let r = ddSub(x, mulDoubleDD(q1, y));
  const q2 = r.hi / y.hi;
  r = ddSub(r, mulDoubleDD(q2, y));
  const q3 = r.hi / y.hi;
  const [h, l] = quickTwoSum(q1, q2);
  return ddAddDouble(dd(h, l), q3);
}

function ddFloor(a: DD): DD {
  const hi = Math.floor(a.hi);
  if (hi !== a.hi) return dd(hi, 0);
  const [h, l] = quickTwoSum(hi, Math.floor(a.lo));
  return dd(h, l);
}

function ddFrexp(a: DD): [DD, number] {
  let [man, exponent] = frexp(a.hi);
  let lo = ldexp(a.lo, -exponent);
  if (Math.abs(man) === 0.5 && man * lo < 0) {
    man *= 2;
    lo *= 2;
    exponent -= 1;
  }
  return [dd(man, lo), exponent];
}

const ddLdexp = (a: DD, e: number): DD => dd(ldexp(a.hi, e), ldexp(a.lo, e));