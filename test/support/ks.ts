/**
 * The two-sample Kolmogorov–Smirnov statistic as SciPy reports it, computed in whole numbers:
 * D = max|i·m − j·n| / (n·m) over the values of both samples, which SciPy snaps to the lattice
 * of attainable values k/lcm(n, m) — here max|i·m − j·n| / g / lcm, g = gcd(n, m), the same
 * double. An oracle for the service's statistic that shares none of its code.
 */
export function ksStatistic(x: readonly number[], y: readonly number[]): number {
  const a = [...x].sort((p, q) => p - q);
  const b = [...y].sort((p, q) => p - q);
  const n = a.length;
  const m = b.length;
  let most = 0;
  for (let i = 0, j = 0; i < n || j < m; ) {
    const v = j >= m || (i < n && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n && a[i]! <= v) i++;
    while (j < m && b[j]! <= v) j++;
    most = Math.max(most, Math.abs(i * m - j * n));
  }
  const gcd = (p: number, q: number): number => (q === 0 ? p : gcd(q, p % q));
  const g = gcd(n, m);
  return most / g / ((n / g) * m);
}
