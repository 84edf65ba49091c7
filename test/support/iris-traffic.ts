/**
 * Reproducible iris-like traffic for the monitoring tests: seeded normal draws, rows around
 * the iris means (optionally shifted, to make drift), and a training profile of 1,000 rows.
 */

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const IRIS_MEANS = [5.8, 3.0, 3.8, 1.2];
export const IRIS_SDS = [0.8, 0.4, 1.7, 0.75];

/** Seeded standard normal draws (LCG + Box–Muller), so that every run sends the same data. */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** `n` rows of the four features, each shifted by `shift[j]`. */
export function irisRows(n: number, g: () => number, shift: number[] = [0, 0, 0, 0]): number[][] {
  return Array.from({ length: n }, () => IRIS_MEANS.map((m, j) => m + IRIS_SDS[j]! * g() + shift[j]!));
}

/** A training profile as the Python bridge writes one: a 1,000-value sample per feature. */
export function irisProfile(): Record<string, unknown> {
  const rows = irisRows(1000, gaussian(99));
  return { features: Object.fromEntries(IRIS_FEATURES.map((name, j) => [name, { kind: 'numeric', null_rate: 0, sample: rows.map((r) => r[j]) }])) };
}
