/**
 * The replay summary's "where the answers changed": bins shown in their own order — numeric
 * ranges low to high, categories most frequent first — whatever order the rows came in.
 */
import { describe, expect, it } from 'vitest';
import { type ReplayedRow, summarize } from '../../src/replay/replay-report.js';

/** Rows x = 0 … 39 (high values first), city by x; the candidate changes its answer where x ≥ 30. */
const rows: ReplayedRow[] = Array.from({ length: 40 }, (_, i) => 39 - i).map((x) => ({
  features: { x, city: x < 25 ? 'paris' : x < 35 ? 'lyon' : 'nice' },
  served: { label: '0' },
  candidate: { label: x >= 30 ? '1' : '0' }
}));

describe('replay summary by feature', () => {
  const byFeature = summarize(rows, { served: [], candidate: [] }).by_feature;

  it('should list numeric ranges low to high, with their changed rows', () => {
    const x = byFeature.find((f) => f.feature === 'x')!;
    expect(x.bins.map((b) => b.bin)).toEqual(['≤ 10', '(10, 20]', '(20, 30]', '> 30']);
    expect(x.bins.map((b) => b.changed)).toEqual([0, 0, 1, 9]);
  });

  it('should list categories most frequent first', () => {
    const city = byFeature.find((f) => f.feature === 'city')!;
    expect(city.bins.map((b) => [b.bin, b.rows, b.changed])).toEqual([
      ['paris', 25, 0],
      ['lyon', 10, 5],
      ['nice', 5, 5]
    ]);
  });
});
