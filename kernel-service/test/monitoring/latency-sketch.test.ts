import { DDSketch } from '@datadog/sketches-js';
import { describe, expect, it } from 'vitest';
import { LatencySketch } from '../../src/monitoring/latency-sketch.js';
import { mulberry32 } from './random.js';

/** Latencies in ms, lognormal: median e^mu, long right tail. */
function lognormal(seed: number, n: number, mu = Math.log(20), sigma = 0.8): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    let u = 0;
    while (u === 0) u = rng();
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng()));
  });
}

const sketchOf = (values: number[]): LatencySketch => {
  const sketch = new LatencySketch();
  values.forEach((v) => sketch.add(v));
  return sketch;
};

/** The value at rank floor(q · (n − 1)), the rank the sketch answers for. */
const exactQuantile = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))]!;

const GRID = Array.from({ length: 101 }, (_, i) => i / 100).concat([0.995, 0.999]);

describe('LatencySketch', () => {
  it('should give p50, p95 and p99 of 100,000 lognormal latencies within 1 % of the exact ones', () => {
    const values = lognormal(1, 100_000);
    const sketch = sketchOf(values);
    const sorted = [...values].sort((a, b) => a - b);
    expect(sketch.count).toBe(100_000);
    for (const q of [0.5, 0.95, 0.99, ...GRID]) {
      const exact = exactQuantile(sorted, q);
      // 1e-12 of slack for the last bit of the bin's representative value.
      expect(Math.abs(sketch.quantile(q)! - exact) / exact, `q = ${q}`).toBeLessThanOrEqual(0.01 + 1e-12);
    }
    expect([sketch.min, sketch.max]).toEqual([sorted[0], sorted[sorted.length - 1]]);
  });

  it('should merge into the sketch of both streams', () => {
    // Two replicas (or windows) with different latency profiles.
    const a = lognormal(2, 30_000);
    const b = lognormal(3, 50_000, Math.log(45), 0.5);
    const merged = sketchOf(a);
    merged.merge(sketchOf(b));
    const both = sketchOf([...a, ...b]);
    expect(merged.count).toBe(both.count);
    for (const q of GRID) expect(merged.quantile(q), `q = ${q}`).toBe(both.quantile(q));
    expect([merged.min, merged.max]).toEqual([both.min, both.max]);
    // Sums added in another order differ in the last bits only.
    expect(merged.sum / both.sum).toBeCloseTo(1, 12);
  });

  it('should merge empty sketches and leave the merged-in sketch unchanged', () => {
    const values = lognormal(4, 1000);
    const into = new LatencySketch();
    const other = sketchOf(values);
    into.merge(other);
    into.merge(new LatencySketch());
    other.add(10_000);
    expect(into.count).toBe(1000);
    expect(into.quantile(0.5)).toBe(sketchOf(values).quantile(0.5));
    expect(other.count).toBe(1001);
  });

  it('should count zero latencies', () => {
    const sketch = sketchOf([0, 0, 0, 5]);
    expect([sketch.count, sketch.quantile(0.5), sketch.min]).toEqual([4, 0, 0]);
  });

  it('should continue identically after a JSON round trip', () => {
    const values = lognormal(5, 20_000);
    const original = sketchOf(values.slice(0, 10_000));
    const text = JSON.stringify(original);
    const restored = LatencySketch.fromJSON(JSON.parse(text));
    expect(restored.toJSON()).toEqual(original.toJSON());
    for (const q of GRID) expect(restored.quantile(q)).toBe(original.quantile(q));
    expect([restored.count, restored.sum, restored.min, restored.max]).toEqual([original.count, original.sum, original.min, original.max]);

    // Later latencies land in the same bins, and a restored sketch merges with a new one.
    values.slice(10_000).forEach((v) => {
      original.add(v);
      restored.add(v);
    });
    for (const q of GRID) expect(restored.quantile(q)).toBe(original.quantile(q));
    const fresh = sketchOf([1, 2, 3]);
    fresh.merge(restored);
    expect(fresh.count).toBe(20_003);
    // A few kB however many latencies: the proto keeps one count per bin.
    expect(text.length).toBeLessThan(8_000);
  });

  it('should round-trip an empty sketch', () => {
    const restored = LatencySketch.fromJSON(JSON.parse(JSON.stringify(new LatencySketch())));
    expect([restored.count, restored.quantile(0.99), restored.min, restored.max]).toEqual([0, null, null, null]);
  });

  it('should reject negative or non-finite latencies, bad quantiles and foreign state', () => {
    const sketch = new LatencySketch();
    expect(() => sketch.add(-1)).toThrow('latency must be a finite number of ms >= 0, got -1');
    expect(() => sketch.add(Number.NaN)).toThrow('latency must be a finite number of ms >= 0, got NaN');
    expect(() => sketch.quantile(1.5)).toThrow('quantile must be in [0, 1], got 1.5');
    expect(() => LatencySketch.fromJSON({ ...sketch.toJSON(), relativeAccuracy: 0.02 })).toThrow();
    const twoPercent = Buffer.from(new DDSketch({ relativeAccuracy: 0.02 }).toProto()).toString('base64');
    expect(() => LatencySketch.fromJSON({ ...sketch.toJSON(), sketch: twoPercent })).toThrow(
      /the sketch's index mapping \(gamma 1\.04\d*\) is not the 1 % logarithmic one/
    );
    expect(() => LatencySketch.fromJSON({ ...sketchOf([1]).toJSON(), min: null, max: null })).toThrow(
      'latency sketch state: min and max must be null exactly when the sketch is empty'
    );
  });
});
