import { describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import { type PerformanceState, addClassification, addRegression, emptyPerformance } from '../../src/monitoring/accumulators.js';
import { CHART_DATASETS, chartNumber, chartPanels, chartSeries, monitorChartSpec, seriesSince, shownNumber, withData } from '../../src/monitoring/monitor-chart.js';
import { driftRuns, renderSvg } from '../../src/monitoring/monitor-svg.js';
import { compactPath, compactSvg } from '../../src/monitoring/svg-compact.js';
import { MAX_CHART_FEATURES, MAX_POINTS, SeriesCache, type SeriesInput, bucketSeconds, buildSeries } from '../../src/monitoring/series.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import { mulberry32 } from './random.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A window of `requests` one-row requests, feature `a` drawn from U(shift, shift + 1). */
function window(version: number, start: number, requests: number, options: { shift?: number; errors?: number; latency?: number; seed?: number } = {}): WindowState {
  const w = new MonitorWindow('m', version, start, 60);
  const random = mulberry32(options.seed ?? start);
  for (let i = 0; i < requests; i++) {
    w.served.add(1, options.latency ?? 5, i < (options.errors ?? 0) ? 'NBD_ERR_INPUT_SHAPE' : null);
    const a = w.feature('a', 'numeric')!;
    if (a.kind === 'numeric') a.reservoir.add((options.shift ?? 0) + random());
  }
  return w.toJSON();
}

const reference = Array.from({ length: 500 }, mulberry32(1));

/** The windows that overlap [from, to), as the store and the open windows give them. */
const loader = (windows: WindowState[]) => (from: number, to: number) => windows.filter((w) => w.start < to && w.start + w.seconds * 1000 > from);

function input(windows: WindowState[], extra: Partial<SeriesInput> = {}): SeriesInput {
  return {
    from: T0 - 600_000,
    to: T0,
    windowSeconds: 60,
    loadWindows: loader(windows),
    settledBefore: 0,
    version: 1,
    features: [{ name: 'a', kind: 'numeric', reference }],
    performance: () => [],
    positive: null,
    ...extra
  };
}

describe('bucketSeconds', () => {
  it('should keep whole windows and at most MAX_POINTS buckets per span', () => {
    expect(MAX_POINTS).toBe(60);
    expect(bucketSeconds(900, 60)).toBe(60);
    expect(bucketSeconds(3600, 60)).toBe(60);
    expect(bucketSeconds(6 * 3600, 60)).toBe(360);
    expect(bucketSeconds(24 * 3600, 60)).toBe(1440);
    expect(bucketSeconds(300, 1)).toBe(5);
    expect(bucketSeconds(30, 1)).toBe(1);
  });
});

describe('buildSeries', () => {
  it('should give one point per bucket over the span, traffic per version, and errors by code', async () => {
    const windows = [window(1, T0 - 600_000, 10, { errors: 2 }), window(2, T0 - 600_000, 5), window(1, T0 - 120_000, 30, { latency: 20 })];
    const s = await buildSeries(input(windows));
    expect(s.bucket_seconds).toBe(60);
    expect(s.settled_until).toBe(T0 - 600_000); // nothing stored for good: no bucket settled
    expect(s.feature_names).toEqual(['a']);
    expect(s.ops.map((p) => p.t)).toEqual(Array.from({ length: 10 }, (_, i) => T0 - 600_000 + i * 60_000));
    expect(s.ops[0]).toMatchObject({ requests: 15, errors: 2, rows: 15, error_rate: 2 / 15, throughput_per_s: 15 / 60, t_end: T0 - 540_000 });
    expect(s.ops[0]!.p50).toBeCloseTo(5, 1);
    expect(s.ops[8]).toMatchObject({ requests: 30, throughput_per_s: 0.5 });
    expect(s.ops[8]!.p99).toBeCloseTo(20, 0);
    // Buckets without traffic: zero, and no latency.
    expect(s.ops[3]).toMatchObject({ requests: 0, rows: 0, error_rate: null, p50: null, p95: null, p99: null });
    expect(s.versions).toEqual([
      { t: T0 - 600_000, version: 1, requests: 10, rows: 10, errors: 2, throughput_per_s: 10 / 60 },
      { t: T0 - 600_000, version: 2, requests: 5, rows: 5, errors: 0, throughput_per_s: 5 / 60 },
      { t: T0 - 120_000, version: 1, requests: 30, rows: 30, errors: 0, throughput_per_s: 0.5 }
    ]);
    expect(s.errors).toEqual([{ t: T0 - 600_000, code: 'NBD_ERR_INPUT_SHAPE', count: 2 }]);
    expect(s.integrity).toBeNull();
    expect(s.alerts).toEqual([]);
  });

  it('should rate a partial current bucket over the time elapsed', async () => {
    const to = T0 + 30_000; // 30 s into the current window
    const s = await buildSeries(input([window(1, T0, 60)], { from: to - 600_000, to }));
    expect(s.ops.at(-1)).toMatchObject({ t: T0, requests: 60, throughput_per_s: 2 });
  });

  it('should keep settled buckets, and load and test only the open ones again', async () => {
    const windows = [window(1, T0 - 600_000, 100), window(1, T0 - 300_000, 100, { shift: 0.5 }), window(1, T0 - 60_000, 10)];
    const loads: number[] = [];
    const load = loader(windows);
    const cache = new SeriesCache();
    const run = () =>
      buildSeries(input(windows, { cache, cacheKey: 'm', settledBefore: T0 - 60_000, loadWindows: (a, b) => (loads.push(a), load(a, b)) }));
    const first = await run();
    expect(loads).toEqual([T0 - 600_000]);
    expect(cache.size).toBe(9); // every bucket but the last, still open
    expect(first.settled_until).toBe(T0 - 60_000);
    const again = await run();
    expect(loads).toEqual([T0 - 600_000, T0 - 60_000]);
    expect(again).toEqual(first);
    // Another version described: other entries.
    await buildSeries(input(windows, { cache, cacheKey: 'm', settledBefore: T0 - 60_000, version: 2 }));
    expect(cache.size).toBe(18);
    // A bounded cache keeps the most recent buckets only.
    const small = new SeriesCache(5);
    await buildSeries(input(windows, { cache: small, cacheKey: 'm', settledBefore: T0 - 60_000 }));
    expect(small.size).toBe(5);
  });

  it('should merge windows into buckets over long spans', async () => {
    const windows = Array.from({ length: 12 }, (_, i) => window(1, T0 - 3_600_000 * 6 + i * 60_000, 2));
    const s = await buildSeries(input(windows, { from: T0 - 6 * 3_600_000 }));
    expect(s.bucket_seconds).toBe(360);
    expect(s.ops.length).toBe(60);
    expect(s.ops.slice(0, 2).map((p) => p.requests)).toEqual([12, 12]);
    expect(s.ops.reduce((n, p) => n + p.requests, 0)).toBe(24);
  });

  it('should test drift per feature and bucket against the profile, for the described version only', async () => {
    const windows = [
      window(1, T0 - 600_000, 200),
      window(1, T0 - 300_000, 200, { shift: 0.5 }),
      window(2, T0 - 300_000, 200, { shift: 5 }) // another version: not the described one
    ];
    const s = await buildSeries(input(windows));
    expect(s.drift.map((d) => [d.t, d.feature, d.method, d.drifted])).toEqual([
      [T0 - 600_000, 'a', 'ks', false],
      [T0 - 300_000, 'a', 'ks', true]
    ]);
    expect(s.drift[1]).toMatchObject({ t_end: T0 - 240_000, threshold: 0.05 });
    expect(s.drift[1]!.p_value).toBeLessThan(1e-6);
    expect(s.drift_share).toEqual([
      { t: T0 - 600_000, share: 0, tested: 1, drifted: 0 },
      { t: T0 - 300_000, share: 1, tested: 1, drifted: 1 }
    ]);
    expect(s.drift_features).toEqual(['a']);
    // No profile sample, no drift.
    expect((await buildSeries(input(windows, { features: [{ name: 'a', kind: 'numeric', reference: undefined }] }))).drift).toEqual([]);
  });

  it('should keep the most drifted features when the profile has many', async () => {
    const w = new MonitorWindow('m', 1, T0 - 60_000, 60);
    const random = mulberry32(3);
    const features = Array.from({ length: MAX_CHART_FEATURES + 5 }, (_, i) => `f${String(i).padStart(2, '0')}`);
    for (const [i, name] of features.entries()) {
      const acc = w.feature(name, 'numeric')!;
      // the last five features shifted
      for (let r = 0; r < 200; r++) if (acc.kind === 'numeric') acc.reservoir.add(random() + (i >= MAX_CHART_FEATURES ? 2 : 0));
    }
    const s = await buildSeries(input([w.toJSON()], { features: features.map((name) => ({ name, kind: 'numeric', reference })) }));
    expect(s.drift_features_total).toBe(MAX_CHART_FEATURES + 5);
    expect(s.drift_features.length).toBe(MAX_CHART_FEATURES);
    // The shifted ones are kept (a feature or two more may drift by chance at p ≤ 0.05); the ones left out did not drift.
    expect(s.drift_features).toEqual(expect.arrayContaining(features.slice(MAX_CHART_FEATURES)));
    const drifted = new Set(s.drift.filter((d) => d.drifted).map((d) => d.feature));
    expect(s.drift_features.slice(0, drifted.size).every((f) => drifted.has(f))).toBe(true);
    expect(new Set(s.drift.map((d) => d.feature))).toEqual(new Set(s.drift_features));
    // The chart orders the rows by rank: the place in drift_features.
    for (const d of s.drift) expect(s.drift_features[d.rank]).toBe(d.feature);
    expect(s.drift_share[0]).toMatchObject({ tested: MAX_CHART_FEATURES + 5, drifted: drifted.size });
    expect(drifted.size).toBeLessThan(10);
  });

  it('should compute performance per bucket from the labels joined to its windows', async () => {
    const byStart = new Map<number, PerformanceState>();
    const classified = emptyPerformance();
    addClassification(classified, '1', '1', 0.9);
    addClassification(classified, '0', '1', 0.4);
    addClassification(classified, '0', '0', 0.2);
    addClassification(classified, '1', '1', 0.7);
    byStart.set(T0 - 600_000, classified);
    const windows = [window(1, T0 - 600_000, 8), window(1, T0 - 540_000, 8)];
    const s = await buildSeries(
      input(windows, { positive: '1', performance: (a, b) => [...byStart].filter(([t]) => t >= a && t < b).map(([, p]) => p) })
    );
    expect(s.performance.map((p) => p.metric)).toEqual(['accuracy', 'f1', 'roc_auc']);
    expect(s.performance[0]).toMatchObject({ t: T0 - 600_000, value: 0.75, labelled: 4, labelled_share: 0.5 });
    expect(s.performance[1]!.value).toBeCloseTo(0.8, 12); // precision 1, recall 2/3
    expect(s.performance[2]!.value).toBe(1);

    const regression = emptyPerformance();
    addRegression(regression, 2, 1);
    addRegression(regression, 1, 4);
    const r = await buildSeries(input(windows, { performance: (a) => (a === T0 - 540_000 ? [regression] : []) }));
    expect(r.performance).toEqual([
      { t: T0 - 540_000, metric: 'mae', value: 2, labelled: 2, labelled_share: 0.25 },
      { t: T0 - 540_000, metric: 'rmse', value: Math.sqrt(5), labelled: 2, labelled_share: 0.25 }
    ]);
  });

  it('should sum integrity violations by kind when windows count them', async () => {
    const a = { ...window(1, T0 - 600_000, 3), integrity: { missing: 2, out_of_range: 1 } };
    const b = { ...window(2, T0 - 600_000, 3), integrity: { missing: 1 } };
    const c = window(1, T0 - 60_000, 3);
    const s = await buildSeries(input([a, b, c] as WindowState[]));
    expect(s.integrity).toEqual([
      { t: T0 - 600_000, kind: 'missing', count: 3 },
      { t: T0 - 600_000, kind: 'out_of_range', count: 1 }
    ]);
  });

  it('should keep the alerts of the span, with times for the chart', async () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const alerts = [
      { rule: 'old', state: 'resolved' as const, fired_at: iso(T0 - 900_000), resolved_at: iso(T0 - 700_000) },
      { rule: 'latency', severity: 'critical', state: 'resolved' as const, fired_at: iso(T0 - 800_000), resolved_at: iso(T0 - 500_000) },
      { rule: 'drift', severity: 'warning', state: 'firing' as const, fired_at: iso(T0 - 100_000), resolved_at: null, value: 0.6, threshold: 0.5 }
    ];
    const s = await buildSeries(input([], { alerts }));
    expect(s.alerts).toEqual([
      { ...alerts[1], t: T0 - 800_000, t_end: T0 - 500_000 },
      { ...alerts[2], t: T0 - 100_000, t_end: null }
    ]);
  });
});

describe('monitorChartSpec', () => {
  const full = () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const windows = [{ ...window(1, T0 - 600_000, 50), integrity: { missing: 1 } }, window(1, T0 - 300_000, 50, { shift: 0.5, errors: 3 })] as WindowState[];
    const performance = emptyPerformance();
    addClassification(performance, '1', '1', 0.9);
    return buildSeries(
      input(windows, {
        performance: (a) => (a === T0 - 600_000 ? [performance] : []),
        alerts: [{ rule: 'drift', severity: 'warning', state: 'firing', fired_at: iso(T0 - 200_000), resolved_at: null }]
      })
    );
  };

  it('should show the panels a series has data for', async () => {
    expect(chartPanels(await full())).toEqual(['traffic', 'latency', 'drift', 'integrity', 'performance', 'alerts']);
    expect(chartPanels(await buildSeries(input([], { features: [] })))).toEqual(['traffic', 'latency']);
  });

  it('should compile to Vega without warnings, its data by name and its span as parameters', async () => {
    const series = await full();
    const spec = monitorChartSpec({ panels: chartPanels(series), from: T0 - 600_000, to: T0, bucketSeconds: 60, featureCount: 1 });
    const warnings: unknown[] = [];
    const logger = { level: () => logger, warn: (...m: unknown[]) => (warnings.push(m), logger), info: () => logger, debug: () => logger, error: (...m: unknown[]) => (warnings.push(m), logger) };
    const vega = compile(withData(spec, chartSeries(series)) as never, { logger: logger as never }).spec;
    expect(warnings).toEqual([]);
    const names = new Set((vega.data ?? []).map((d) => d.name));
    for (const name of CHART_DATASETS.filter((n) => n !== 'versions' && n !== 'drift_share')) expect(names).toContain(name);
    expect(names).not.toContain('drift_runs');
    expect(vega.signals?.filter((s) => ['t_from', 't_to', 'bucket_ms'].includes(s.name)).map((s) => [s.name, (s as { value: unknown }).value])).toEqual([
      ['t_from', T0 - 600_000],
      ['t_to', T0],
      ['bucket_ms', 60_000]
    ]);
    // Nothing the chart would load from elsewhere.
    expect(JSON.stringify(spec)).not.toMatch(/"url"/);
  });

  it('should render to SVG with a mark per panel', async () => {
    const series = await full();
    const spec = monitorChartSpec({ panels: chartPanels(series), from: T0 - 600_000, to: T0, bucketSeconds: 60, featureCount: 1 });
    const svg = await renderSvg(withData(spec, chartSeries(series)));
    expect(svg.startsWith('<svg')).toBe(true);
    for (const title of ['Throughput (rows/s) and errors', 'Latency (ms)', 'Drift per feature', 'Integrity violations', 'Performance (delayed labels)', 'Alerts']) {
      expect(svg).toContain(title);
    }
    expect(svg).toMatch(/class="mark-line role-mark[^"]*"/);
    expect(svg).toMatch(/class="mark-rect role-mark[^"]*"/);
    expect(svg).toMatch(/class="mark-rule role-mark[^"]*"/);
  });
});

describe('chartNumber', () => {
  it('should keep whole numbers and round the others to 4 significant digits', () => {
    expect(chartNumber(2000)).toBe(2000);
    expect(chartNumber(1_772_442_000_000)).toBe(1_772_442_000_000);
    expect(chartNumber(0.123456)).toBe(0.1235);
    expect(chartNumber(33.33333)).toBe(33.33);
    expect(chartNumber(123456.7)).toBe(123500);
    expect(chartNumber(1.23456e-9)).toBe(1.235e-9);
    expect(chartNumber(-0.0987654)).toBe(-0.09877);
    expect(chartNumber(0.5)).toBe(0.5);
    expect(chartNumber(null)).toBeNull();
  });

  it('should keep the digits a tooltip shows', () => {
    const twoDecimals = (x: number) => x.toFixed(2);
    expect(chartNumber(1234.5678, twoDecimals)).toBe(1234.57); // 4 significant digits would show 1235.00
    expect(chartNumber(33.33333, twoDecimals)).toBe(33.33);
    // 0.125 would show as 0.13 where 0.124951 shows as 0.12: one more digit.
    expect(chartNumber(0.124951, twoDecimals)).toBe(0.12495);
    expect(chartNumber(0.05678, (x) => (x * 100).toFixed(0))).toBe(0.05678);
  });
});

describe('shownNumber', () => {
  it('should store a number only a tooltip shows as the tooltip shows it', () => {
    expect(shownNumber(0.065342, 4)).toBe(0.0653);
    expect(shownNumber(1.234e-9, 4)).toBe(0);
    expect(shownNumber(123.456789, 4)).toBe(123.4568);
    expect(shownNumber(2, 4)).toBe(2);
    expect(shownNumber(null, 4)).toBeNull();
  });
});

describe('chartSeries', () => {
  const windows = [window(1, T0 - 600_000, 30, { errors: 1 }), window(1, T0 - 540_000, 30, { shift: 0.5 }), window(1, T0 - 120_000, 30)];
  const features = ['b', 'a'].map((name) => ({ name, kind: 'numeric' as const, reference }));
  // Feature b has no values (the windows fill only a): its cells stay empty.
  const series = () => buildSeries(input(windows, { features, settledBefore: T0 - 60_000 }));

  it('should round what the chart draws, and leave times whole', async () => {
    const s = await series();
    const c = chartSeries(s);
    expect(c.ops[0]).toEqual({ t: T0 - 600_000, requests: 30, errors: 1, error_rate: chartNumber(1 / 30), rows: 30, throughput_per_s: 0.5, p50: chartNumber(s.ops[0]!.p50), p95: chartNumber(s.ops[0]!.p95), p99: chartNumber(s.ops[0]!.p99) });
    expect(c.ops[0]!.error_rate).toBe(0.03333);
    expect(c.ops.map((o) => o.t)).toEqual(s.ops.map((o) => o.t));
    expect(c.settled_until).toBe(T0 - 60_000);
  });

  it('should give one drift row per bucket, its cells in the order of the features', async () => {
    const s = await series();
    const c = chartSeries(s);
    expect(c.features).toEqual([{ f: 0, feature: 'a', rank: 0, method: 'ks', threshold: 0.05 }]);
    const a = s.drift.filter((d) => d.feature === 'a');
    // The statistic and p-value as the tooltip shows them (4 decimals): the cells' colour is their verdict.
    expect(c.drift).toEqual(a.map((d) => ({ t: d.t, statistic: [shownNumber(d.statistic, 4)], p_value: [shownNumber(d.p_value, 4)], drifted: [d.drifted ? 1 : 0] })));
    expect(c.drift.flatMap((d) => [...d.statistic, ...d.p_value]).every((x) => x === null || x.toFixed(4) === String(x) || Number.isInteger(x * 10_000))).toBe(true);
    expect(c.drift.map((d) => d.drifted[0])).toEqual([0, 1, 0]);
  });

  it('should put the metrics of a bucket in one row', async () => {
    const performance = emptyPerformance();
    for (const [truth, predicted, score] of [['1', '1', 0.9], ['0', '1', 0.4], ['0', '0', 0.2]] as const) addClassification(performance, truth, predicted, score);
    const s = await buildSeries(input(windows, { positive: '1', performance: (a) => (a === T0 - 600_000 ? [performance] : []) }));
    const c = chartSeries(s);
    expect(c.performance).toEqual([{ t: T0 - 600_000, labelled: 3, labelled_share: 0.1, accuracy: 0.6667, f1: 0.6667, roc_auc: 1 }]);
  });

  it('should give a live view only the buckets from a time on, the rest whole', async () => {
    const c = chartSeries(await series());
    const part = seriesSince(c, T0 - 540_000);
    expect(part.since).toBe(T0 - 540_000);
    expect(part.ops.map((o) => o.t)).toEqual(c.ops.filter((o) => o.t >= T0 - 540_000).map((o) => o.t));
    expect(part.ops.length).toBe(9);
    expect(part.errors).toEqual([]); // the only error was in the first bucket
    expect(part.drift.map((d) => d.t)).toEqual([T0 - 540_000, T0 - 120_000]);
    expect(part.features).toEqual(c.features);
    expect(part.alerts).toBe(c.alerts);
    expect(seriesSince(c, T0 - 600_000)).toEqual({ ...c, since: T0 - 600_000 });
  });
});

describe('driftRuns', () => {
  it('should join adjacent buckets of a feature with the same verdict', () => {
    const t = (i: number) => T0 + i * 60_000;
    const drift = [
      { t: t(0), statistic: [0.1, 0.2], p_value: [0.5, 0.01], drifted: [0, 1] },
      { t: t(1), statistic: [0.1, null], p_value: [0.5, null], drifted: [0, null] },
      { t: t(2), statistic: [0.3, 0.2], p_value: [0.01, 0.01], drifted: [1, 1] },
      { t: t(4), statistic: [0.3, 0.2], p_value: [0.01, 0.01], drifted: [1, 1] } // after a bucket without traffic
    ];
    expect(driftRuns({ bucket_seconds: 60, drift })).toEqual([
      { t: t(0), t_end: t(2), f: 0, drifted: 0 },
      { t: t(0), t_end: t(1), f: 1, drifted: 1 },
      { t: t(2), t_end: t(3), f: 0, drifted: 1 },
      { t: t(2), t_end: t(3), f: 1, drifted: 1 },
      { t: t(4), t_end: t(5), f: 0, drifted: 1 },
      { t: t(4), t_end: t(5), f: 1, drifted: 1 }
    ]);
  });
});

describe('compactSvg', () => {
  it('should draw the same with fewer bytes', () => {
    const font = 'font-family="system-ui, &quot;Segoe UI&quot;"';
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="100" height="50"><g fill="none" transform="translate(10.25,21)">' +
      '<g class="mark-group role-axis" role="graphics-symbol" aria-roledescription="axis" aria-label="X-axis"><g transform="translate(0.5,80.5)">' +
      '<path class="background" aria-hidden="true" d="M0,0h0v0h0Z" pointer-events="none"/><g>' +
      '<g class="mark-rule role-axis-tick" pointer-events="none"><line transform="translate(1.0833499,0)" x2="0" y2="5" stroke="#888" stroke-width="1" opacity="1"/><line transform="translate(40.25001,0)" x2="0" y2="5" stroke="#888" stroke-width="1" opacity="1"/></g>' +
      `<g class="mark-text role-axis-label" pointer-events="none"><text text-anchor="middle" transform="translate(1.0833499,15)" ${font} font-size="10px" fill="#888" opacity="1">09:00</text><text text-anchor="middle" transform="translate(20.7,15)" ${font} font-size="10px" fill="#888" opacity="0">09:05</text><text text-anchor="middle" transform="translate(40.25001,15)" ${font} font-size="10px" fill="#888" opacity="1">09:10</text></g>` +
      '</g><path class="foreground" aria-hidden="true" d="" pointer-events="none" display="none"/></g></g>' +
      '<g class="mark-symbol role-mark marks" aria-hidden="true"><path transform="translate(-4,55.462625)" d="M1.871,0A1.871,1.871,0,1,1,-1.871,0A1.871,1.871,0,1,1,1.871,0" fill="#4c8bd6" stroke-width="2"/><path transform="translate(4,30.58)" d="M1.871,0A1.871,1.871,0,1,1,-1.871,0A1.871,1.871,0,1,1,1.871,0" fill="#b07cc6" stroke-width="2"/></g>' +
      '<g class="mark-rect role-mark marks" aria-hidden="true"><path d="M80.98334,6.1538h4.69999v73.84615h-4.69999Z" fill="#e4572e" opacity="0.9"/></g>' +
      '</g></svg>';
    expect(compactSvg(svg)).toBe(
      `<svg ${font} xmlns="http://www.w3.org/2000/svg" width="100" height="50"><g fill="none" transform="translate(10.3,21)">` +
        // vega's group, transform and content groups as one group; no class a still image does not need; stroke-width 1 is the default.
        '<g transform="translate(0.5,80.5)"><path d="M1.1,0v5m39.2-5v5" stroke="#888"/>' +
        '<g text-anchor="middle" font-size="10px" fill="#888"><text x="1.1" y="15">09:00</text><text x="40.3" y="15">09:10</text></g></g>' +
        '<g class="mark-symbol role-mark" stroke-width="2"><circle cx="-4" cy="55.5" r="1.9" fill="#4c8bd6"/><circle cx="4" cy="30.6" r="1.9" fill="#b07cc6"/></g>' +
        '<g class="mark-rect role-mark"><path d="M81,6.2h4.7V80H81Z" fill="#e4572e" opacity="0.9"/></g>' +
        '</g></svg>'
    );
  });

  it('should draw rects of one colour as one path only when none overlaps another', () => {
    const group = (rects: string) => `<svg xmlns="http://www.w3.org/2000/svg"><g class="mark-rect role-mark" clip-path="url(#c)">${rects}</g></svg>`;
    const rect = (x: number, y: number, w: number, fill: string) => `<path d="M${x},${y}h${w}v10h-${w}Z" fill="${fill}" opacity="0.9"/>`;
    // Side by side and one above the other (edges touching): one path per colour, where its first rect was.
    expect(compactSvg(group(rect(0, 0, 20, '#aaa') + rect(20, 0, 10, '#e45') + rect(30, 0, 5, '#aaa') + rect(0, 10, 35, '#aaa')))).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"><g class="mark-rect role-mark" clip-path="url(#c)">' +
        '<path d="M0,0h20v10H0Zm30,0h5v10h-5ZM0,10h35v10H0Z" fill="#aaa" opacity="0.9"/><path d="M20,0h10v10H20Z" fill="#e45" opacity="0.9"/></g></svg>'
    );
    // Overlapping rects stay apart: which one is painted last shows.
    const overlapping = group(rect(0, 0, 20, '#aaa') + rect(10, 5, 20, '#e45') + rect(40, 0, 5, '#aaa'));
    expect(compactSvg(overlapping).match(/<path/g)).toHaveLength(3);
  });

  it('should not merge a group holding a clip with a group moved inside it', () => {
    // The clip is read in the coordinates of the group that names it: a translation inside must stay inside.
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><g clip-path="url(#c)"><g transform="translate(5,0)"><path d="M0,0h1v1H0Z" fill="#000"/></g></g></svg>';
    expect(compactSvg(svg)).toBe('<svg xmlns="http://www.w3.org/2000/svg"><g clip-path="url(#c)"><g transform="translate(5,0)"><path d="M0,0h1v1H0Z" fill="#000"/></g></g></svg>');
    // Translations add up; a group of one element without a transform gives it its inherited attributes.
    const moved = '<svg xmlns="http://www.w3.org/2000/svg"><g transform="translate(1.5,2)"><g><g transform="translate(2,0.5)"><g fill="#123"><text>a</text></g></g></g></g></svg>';
    expect(compactSvg(moved)).toBe('<svg xmlns="http://www.w3.org/2000/svg"><g transform="translate(3.5,2.5)"><text fill="#123">a</text></g></svg>');
  });

  it('should leave SVG it cannot read back exactly as the text passes left it', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><!-- a comment --><g class="mark-group role-axis"><g><path d="M0,0L5,0" stroke="#000"/></g></g></svg>';
    expect(compactSvg(svg)).toBe(svg);
  });
});

describe('compactPath', () => {
  it('should write each segment in its shortest exact form', () => {
    // Lines along an axis as h/v, a run of them in one direction as one, segments of no length left out.
    expect(compactPath('M1.1,3.8L8.9,3.8L8.9,3.8L16.8,3.8L16.8,12.5L24.6,12.5L24.6,3.8')).toBe('M1.1,3.8h15.7v8.7h7.8V3.8');
    // Curves and lines relative where that is shorter; no leading zeros, no comma before a minus.
    expect(compactPath('M-4,30.6C-1.3,31.6,1.3,32.5,4,32.5L12,30.1Z')).toBe('M-4,30.6c2.7,1,5.3,1.9,8,1.9l8-2.4Z');
    // After Z the pen is back at the start of the subpath.
    expect(compactPath('M10,10h5v5h-5ZM10,30h5v5h-5Z')).toBe('M10,10h5v5h-5Zm0,20h5v5h-5Z');
    // With round or square caps a segment of no length draws a dot: kept.
    expect(compactPath('M0,0L0,0L5,0', true)).toBe('M0,0h0h5');
    // Commands it does not rewrite (arcs) leave the path as it is.
    expect(compactPath('M1.9,0A1.9,1.9,0,1,1,-1.9,0')).toBe('M1.9,0A1.9,1.9,0,1,1,-1.9,0');
  });
});
