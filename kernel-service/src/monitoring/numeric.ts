/**
 * Small numeric helpers the drift statistics share: C's ldexp/frexp, numpy's rounding,
 * polynomial evaluation and the little matrix algebra Durbin's method needs.
 */

export function polyval(coeffs: readonly number[], x: number): number {
  let y = 0;
  for (const c of coeffs) y = y * x + c;
  return y;
}

export function identity(m: number): Float64Array {
  const I = new Float64Array(m * m);
  for (let i = 0; i < m; i++) I[i * m + i] = 1;
  return I;
}

export function matmul(A: Float64Array, B: Float64Array, m: number): Float64Array {
  const C = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = A[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) C[i * m + j] = C[i * m + j]! + aik * B[k * m + j]!;
    }
  }
  return C;
}

/** x·2^e with one rounding, also when the result is subnormal. */
export function ldexp(x: number, e: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  for (; e > 1023; e -= 1023) x *= 2 ** 1023;
  for (; e < -1022 && Math.abs(x) >= 1; e += 1022) x *= 2 ** -1022;
  if (e >= -1022) return x * 2 ** e;
  return e + 1074 >= -1022 ? x * 2 ** (e + 1074) * 2 ** -1074 : 0 * x;
}

/** [m, e] with x = m·2^e and 0.5 ≤ |m| < 1 (C's frexp). */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = Math.floor(Math.log2(Math.abs(x))) + 1;
  let m = ldexp(x, -e);
  if (Math.abs(m) >= 1) {
    m /= 2;
    e += 1;
  } else if (Math.abs(m) < 0.5) {
    m *= 2;
    e -= 1;
  }
  return [m, e];
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy's round: halves to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff !== 0.5) return diff < 0.5 ? f : f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/**
 * numpy's float64 sum: blocks of up to 128 values summed with 8 accumulators, halved
 * recursively above that. Same order, same rounding, so sums equal numpy's bit for bit.
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[start + i]!;
    return s;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = r[j]! + a[start + i + j]!;
    let s = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[start + i]!;
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

export function productOf(n: number, factor: (i: number) => number): number {
  let p = 1;
  for (let i = 1; i <= n; i++) p *= factor(i);
  return p;
}
