/**
 * The monitor chart: one Vega-Lite spec, small panels stacked on a shared time axis —
 * throughput and errors, latency percentiles, drift per feature, integrity violations by
 * kind, performance from delayed labels, alerts — with alerts drawn as rules on every panel.
 * The data are named datasets (the arrays of `ChartSeries` of the same name), kept out of
 * the spec so a payload carries them once and a live view swaps them without re-drawing; the
 * time span is two parameters, `t_from` and `t_to`.
 *
 * `ChartSeries` is the series as the chart draws it (`chartSeries`): numbers to 4
 * significant digits, times whole, and compact rows — one row per bucket, the drift of its
 * features as parallel arrays that the spec flattens — so that an hour of a 30-feature
 * model stays small. Rows carry their bucket's start `t`, so that a live view can replace
 * the buckets from a time on (`since`) and keep the settled ones it has.
 *
 * The service renders it to SVG (monitor-svg.ts); the JupyterLab extension draws the same
 * spec from the payload and overrides `config` with the theme's colours. The colours here
 * are mid-tones that read on light and dark backgrounds alike.
 */
import type { MonitorSeries } from './series.js';

/** Time-axis labels per tick unit. */
const TIME_AXIS_FORMAT = { years: '%Y', months: '%b', days: '%b %d', hours: '%H:%M', minutes: '%H:%M', seconds: ':%S', milliseconds: '.%L' };

/** The dataset names the spec reads (each an array of ChartSeries). */
export const CHART_DATASETS = ['ops', 'versions', 'errors', 'drift', 'features', 'drift_share', 'performance', 'integrity', 'alerts'] as const;
export type ChartDataset = (typeof CHART_DATASETS)[number];
/** Datasets of rows per bucket (`t`): a partial series (`since`) has their rows from `since` on only. */
export const BUCKET_DATASETS = ['ops', 'versions', 'errors', 'drift', 'drift_share', 'integrity'] as const;
/** The performance metrics, as columns of a `performance` row (the spec folds them). */
export const PERFORMANCE_METRICS = ['accuracy', 'f1', 'roc_auc', 'mae', 'rmse'] as const;

export type Panel = 'traffic' | 'latency' | 'drift' | 'integrity' | 'performance' | 'alerts';

/** What the chart draws: `MonitorSeries` rounded (4 significant digits) and in compact rows. */
export interface ChartSeries {
  /** Seconds per bucket (a multiple of the window length). */
  bucket_seconds: number;
  /** Buckets that start before this (ms) are settled: their rows no longer change (bar performance). */
  settled_until: number;
  /** Set on a partial series: the rows per bucket are those from this time (ms) on only; the rest is whole. */
  since?: number;
  ops: Array<{ t: number; requests: number; errors: number; error_rate: number | null; rows: number; throughput_per_s: number; p50: number | null; p95: number | null; p99: number | null }>;
  versions: MonitorSeries['versions'];
  errors: MonitorSeries['errors'];
  /** Per bucket with drift tests: one value per feature of `features`, in its order (null: not tested); `drifted` 1 or 0. */
  drift: Array<{ t: number; statistic: Array<number | null>; p_value: Array<number | null>; drifted: Array<number | null> }>;
  /** The features of the drift panel (at most MAX_CHART_FEATURES) in the profile's order: `f` their place here, `rank` their row (most drifted first). */
  features: Array<{ f: number; feature: string; rank: number; method: string; threshold: number }>;
  drift_share: MonitorSeries['drift_share'];
  drift_features: string[];
  drift_features_total: number;
  /** Per bucket with joined labels: the metrics as columns (accuracy, f1, roc_auc or mae, rmse). */
  performance: Array<{ t: number; labelled: number; labelled_share: number | null } & Partial<Record<(typeof PERFORMANCE_METRICS)[number], number>>>;
  integrity: MonitorSeries['integrity'];
  alerts: MonitorSeries['alerts'];
}

/**
 * A number the chart draws (a position: a point, a bar): whole numbers as they are, others to
 * 4 significant digits — a 10,000th of the axis, well under a pixel — or more when its tooltip
 * (`shown`, e.g. `.2f`) would otherwise show other digits than the number's own (a value of
 * 1234.567 shown with 2 decimals; a 4-digit rounding that lands on a half, which the
 * tooltip's rounding would then take the other way).
 */
export function chartNumber(x: number, shown?: (x: number) => string): number;
export function chartNumber(x: number | null, shown?: (x: number) => string): number | null;
export function chartNumber(x: number | null, shown?: (x: number) => string): number | null {
  if (x === null || Number.isInteger(x) || !Number.isFinite(x)) return x;
  for (let digits = 4; digits < 17; digits++) {
    const rounded = Number(x.toPrecision(digits));
    if (shown === undefined || shown(rounded) === shown(x)) return rounded;
  }
  return x;
}

/**
 * A number only a tooltip shows, with `decimals` decimals (vega's `.4f`, JavaScript's
 * `toFixed`): stored as shown, which loses nothing a reader sees (the drift cells' statistic
 * and p-value: the heat map's colour is their verdict).
 */
export function shownNumber(x: number | null, decimals: number): number | null {
  if (x === null || Number.isInteger(x) || !Number.isFinite(x)) return x;
  return Number(x.toFixed(decimals));
}

/** How tooltips show numbers: d3-format's `.Nf` is `toFixed(N)`. */
const fixed = (decimals: number) => (x: number) => x.toFixed(decimals);
/** Decimals of the tooltips' numbers (the spec's formats below say the same). */
const SHOWN = { throughput: 2, latency: 2, drift: 4, performance: 4 } as const;

/** Every number of a row rounded for the chart but its time fields (`t`, `t_end`); `shown` by field. */
function roundRow<T extends object>(row: T, shown: Record<string, (x: number) => string> = {}): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'number' && k !== 't' && k !== 't_end' ? chartNumber(v, shown[k]) : v;
  return out as T;
}

const OPS_SHOWN = { throughput_per_s: fixed(SHOWN.throughput), p50: fixed(SHOWN.latency), p95: fixed(SHOWN.latency), p99: fixed(SHOWN.latency) };

/** The series as the chart draws it. */
export function chartSeries(series: MonitorSeries): ChartSeries {
  // The drift panel's features in the profile's order (stable while the same features are
  // charted, so settled buckets keep their rows); each bucket's cells in that order.
  const order = new Map(series.feature_names.map((name, i) => [name, i]));
  const rank = new Map(series.drift_features.map((name, i) => [name, i]));
  const tests = new Map<string, { method: string; threshold: number }>();
  for (const d of series.drift) if (!tests.has(d.feature)) tests.set(d.feature, { method: d.method, threshold: d.threshold });
  const features = [...tests.keys()]
    .sort((a, b) => order.get(a)! - order.get(b)!)
    .map((feature, f) => ({ f, feature, rank: rank.get(feature)!, ...tests.get(feature)! }));
  const position = new Map(features.map((x) => [x.feature, x.f]));
  const drift = new Map<number, ChartSeries['drift'][number]>();
  for (const d of series.drift) {
    let row = drift.get(d.t);
    if (!row) {
      const empty = () => features.map(() => null);
      drift.set(d.t, (row = { t: d.t, statistic: empty(), p_value: empty(), drifted: empty() }));
    }
    const f = position.get(d.feature)!;
    row.statistic[f] = shownNumber(d.statistic, SHOWN.drift);
    row.p_value[f] = shownNumber(d.p_value, SHOWN.drift);
    row.drifted[f] = d.drifted ? 1 : 0;
  }
  const performance = new Map<number, ChartSeries['performance'][number]>();
  for (const p of series.performance) {
    let row = performance.get(p.t);
    if (!row) performance.set(p.t, (row = { t: p.t, labelled: p.labelled, labelled_share: chartNumber(p.labelled_share, (x) => (x * 100).toFixed(0)) }));
    row[p.metric as (typeof PERFORMANCE_METRICS)[number]] = chartNumber(p.value, fixed(SHOWN.performance));
  }
  return {
    bucket_seconds: series.bucket_seconds,
    settled_until: series.settled_until,
    ops: series.ops.map(({ t_end: _, ...o }) => roundRow(o, OPS_SHOWN)),
    versions: series.versions.map((v) => roundRow(v)),
    errors: series.errors,
    drift: [...drift.values()],
    features,
    drift_share: series.drift_share.map((d) => roundRow(d)),
    drift_features: series.drift_features,
    drift_features_total: series.drift_features_total,
    performance: [...performance.values()],
    integrity: series.integrity,
    alerts: series.alerts
  };
}

/**
 * The part of a chart series a live view that has the buckets before `since` (ms) needs:
 * the rows per bucket (BUCKET_DATASETS) from `since` on, the rest whole.
 */
export function seriesSince(series: ChartSeries, since: number): ChartSeries {
  const out: Record<string, unknown> = { ...series, since };
  for (const name of BUCKET_DATASETS) {
    const rows = series[name] as Array<{ t: number }> | null;
    out[name] = rows && rows.filter((r) => r.t >= since);
  }
  return out as unknown as ChartSeries;
}

/** Width of the plotting area: with the legends, the chart fits a notebook's ~800 px. */
export const CHART_WIDTH = 480;
const PANEL_HEIGHT = 80;
const FEATURE_ROW = 11;

/** Mid-tone text and lines: readable on white and on JupyterLab's dark theme (the extension overrides them). */
const NEUTRAL = { text: '#888888', domain: '#8888887f', grid: '#88888833' };
const SEVERITY_COLOURS = { domain: ['critical', 'warning', 'info'], range: ['#d9534f', '#e8a33d', '#5b8fd1'] };

/**
 * The layers a click can inspect (vega names their marks `<name>_marks`): a drifted cell of
 * the drift heat map, a bar of the integrity panel. The JupyterLab extension (triage-click.ts)
 * turns a click on one into an `nd.inspect(...)` cell of that feature and bucket; it sets the
 * `inspectable` parameter where it can (a notebook with a kernel), which gives those marks a
 * pointer and their tooltips the heading "click to inspect".
 */
export const INSPECTABLE_LAYERS = { drift: 'drift_cells', integrity: 'integrity_bars' } as const;
/** A tooltip field titled `title` is vega-tooltip's heading; an empty one shows none. */
const inspectHint = (test: string): Spec[] => [{ calculate: `${test} ? 'click to inspect' : ''`, as: 'inspect_hint' }];
const INSPECT_HINT_TOOLTIP = { field: 'inspect_hint', title: 'title' };
const inspectCursor = (test: string) => ({ expr: `${test} ? 'pointer' : 'default'` });

type Spec = Record<string, unknown>;

/** The panels a series has something to show in (traffic and latency always). */
export function chartPanels(series: Pick<ChartSeries, 'drift_features' | 'integrity' | 'performance' | 'alerts'>): Panel[] {
  const panels: Panel[] = ['traffic', 'latency'];
  if (series.drift_features.length > 0) panels.push('drift');
  if (series.integrity !== null) panels.push('integrity');
  if (series.performance.length > 0) panels.push('performance');
  if (series.alerts.length > 0) panels.push('alerts');
  return panels;
}

/** The Vega-Lite spec of the monitor chart for the given panels, its data by name (see `withData`). */
export function monitorChartSpec(options: {
  panels: readonly Panel[];
  from: number;
  to: number;
  bucketSeconds: number;
  featureCount?: number;
  title?: string;
  /**
   * For a static image (the SVG fallback): the drift panel reads `drift_runs` — runs of
   * adjacent buckets of a feature with the same verdict, `{t, t_end, f, drifted}` (see
   * `driftRuns`) — one rect per run instead of per bucket, which looks the same and has no
   * tooltips to lose.
   */
  still?: boolean;
}): Spec {
  // The time axis of every panel: its settings (labels, ticks) are the config's `axisX`; each
  // panel says its encoding once for its layers (those that place marks otherwise add theirs).
  const x = { field: 't', type: 'temporal', scale: { domain: { expr: '[t_from, t_to]' } } };
  const alertRules: Spec = {
    data: { name: 'alerts' },
    mark: { type: 'rule' }, // dashed: the config's `rule` (no other rules are drawn)
    encoding: {
      color: { field: 'severity', type: 'nominal', scale: SEVERITY_COLOURS, legend: null },
      tooltip: [
        { field: 'rule', title: 'alert' },
        { field: 'state' },
        { field: 'message' },
        { field: 't', type: 'temporal', title: 'fired', format: '%H:%M:%S' }
      ]
    }
  };
  const panel = (title: string, layers: Spec[], extra: Spec = {}): Spec => ({
    title, // its look is the config's `title`
    width: CHART_WIDTH,
    height: PANEL_HEIGHT,
    encoding: { x },
    // Marks stay inside the plot: the last bucket ends after the span does.
    layer: [...layers, alertRules].map((layer) => ({ ...layer, mark: { ...(layer.mark as Spec), clip: true } })),
    ...extra,
    resolve: { scale: { color: 'independent', ...((extra.resolve as { scale?: object } | undefined)?.scale ?? {}) } }
  });

  // A point per bucket on the lines, for their tooltips (a still image leaves them out: monitor-svg.ts).
  const point = { size: 14 };

  const builders: Record<Panel, () => Spec> = {
    traffic: () =>
      panel(
        'Throughput (rows/s) and errors',
        [
          {
            data: { name: 'ops' },
            // Steps: each bucket's throughput holds over the bucket (no made-up ramps between them).
            mark: { type: 'area', line: { strokeWidth: 1.5 }, opacity: 0.25, interpolate: 'step-after', color: '#4c8bd6' },
            encoding: {
              y: { field: 'throughput_per_s', type: 'quantitative', title: 'rows/s' },
              tooltip: [
                { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
                { field: 'requests', type: 'quantitative' },
                { field: 'rows', type: 'quantitative' },
                { field: 'throughput_per_s', type: 'quantitative', title: 'rows/s', format: `.${SHOWN.throughput}f` },
                { field: 'errors', type: 'quantitative' }
              ]
            }
          },
          {
            data: { name: 'errors' },
            transform: [
              { calculate: 'datum.t + bucket_ms * 0.2', as: 'bar_from' },
              { calculate: 'datum.t + bucket_ms * 0.8', as: 'bar_to' }
            ],
            mark: { type: 'bar', opacity: 0.85 },
            encoding: {
              x: { ...x, field: 'bar_from' },
              x2: { field: 'bar_to' },
              y: { field: 'count', type: 'quantitative', aggregate: 'sum', stack: true, title: 'errors', axis: { orient: 'right', tickMinStep: 1, format: 'd' } },
              color: { field: 'code', type: 'nominal', title: null, scale: { scheme: 'reds' } }, // no legend title left over when there are no errors
              tooltip: [{ field: 'code' }, { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'errors' }]
            }
          }
        ],
        { resolve: { scale: { y: 'independent', color: 'independent' } } }
      ),
    latency: () =>
      panel('Latency (ms)', [
        {
          data: { name: 'ops' },
          transform: [{ fold: ['p50', 'p95', 'p99'], as: ['percentile', 'ms'] }, { filter: 'isValid(datum.ms)' }],
          mark: { type: 'line', point, strokeWidth: 1.5, interpolate: 'monotone' },
          encoding: {
            y: { field: 'ms', type: 'quantitative', title: 'ms' },
            color: { field: 'percentile', type: 'nominal', title: 'latency', scale: { domain: ['p50', 'p95', 'p99'], range: ['#4c8bd6', '#b07cc6', '#e8a33d'] } },
            tooltip: [
              { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
              { field: 'percentile' },
              { field: 'ms', type: 'quantitative', format: `.${SHOWN.latency}f` }
            ]
          }
        }
      ]),
    drift: () =>
      panel(
        'Drift per feature (test against the training profile)',
        [
          {
            name: INSPECTABLE_LAYERS.drift,
            data: { name: options.still ? 'drift_runs' : 'drift' },
            transform: [
              // One row per bucket and feature, from the bucket rows' parallel arrays (or the runs).
              ...(options.still
                ? []
                : [
                    { calculate: 'sequence(length(datum.drifted))', as: 'f' },
                    { flatten: ['f', 'statistic', 'p_value', 'drifted'] },
                    { filter: 'isValid(datum.drifted)' },
                    { calculate: 'datum.t + bucket_ms', as: 't_end' }
                  ]),
              { lookup: 'f', from: { data: { name: 'features' }, key: 'f', fields: ['feature', 'rank', 'method', 'threshold'] } },
              { filter: 'isValid(datum.feature)' },
              { calculate: 'datum.drifted === 1', as: 'drifted' },
              ...inspectHint('inspectable && datum.drifted')
            ],
            mark: { type: 'rect', stroke: null, opacity: 0.9, cursor: inspectCursor('inspectable && datum.drifted') },
            encoding: {
              x2: { field: 't_end' },
              y: { field: 'feature', type: 'nominal', title: null, sort: { field: 'rank', op: 'min', order: 'ascending' }, axis: { labelLimit: 80 } },
              color: {
                field: 'drifted',
                type: 'nominal',
                title: 'drift',
                scale: { domain: [false, true], range: ['#8aa4bf66', '#e4572e'] },
                legend: { labelExpr: "datum.label === 'true' ? 'drifted' : 'no drift'" }
              },
              tooltip: [
                INSPECT_HINT_TOOLTIP,
                { field: 'feature' },
                { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
                { field: 'method' },
                { field: 'statistic', type: 'quantitative', format: `.${SHOWN.drift}f` },
                { field: 'p_value', type: 'quantitative', format: `.${SHOWN.drift}f`, title: 'p-value' },
                { field: 'threshold', type: 'quantitative' },
                { field: 'drifted' }
              ]
            }
          }
        ],
        { height: Math.max(PANEL_HEIGHT / 2, (options.featureCount ?? 8) * FEATURE_ROW) }
      ),
    integrity: () =>
      panel('Integrity violations', [
        {
          name: INSPECTABLE_LAYERS.integrity,
          data: { name: 'integrity' },
          transform: [
            { calculate: 'datum.t + bucket_ms * 0.2', as: 'bar_from' },
            { calculate: 'datum.t + bucket_ms * 0.8', as: 'bar_to' },
            ...inspectHint('inspectable')
          ],
          mark: { type: 'bar', cursor: inspectCursor('inspectable') },
          encoding: {
            x: { ...x, field: 'bar_from' },
            x2: { field: 'bar_to' },
            y: { field: 'count', type: 'quantitative', aggregate: 'sum', stack: true, title: 'rows' },
            color: { field: 'kind', type: 'nominal', title: 'violation', scale: { scheme: 'tableau10' } },
            // The bucket's start (`t`) is in the tooltip, so a bar's datum keeps it for a click.
            tooltip: [
              INSPECT_HINT_TOOLTIP,
              { field: 'kind' },
              { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
              { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'rows' }
            ]
          }
        }
      ]),
    performance: () =>
      panel('Performance (delayed labels)', [
        {
          data: { name: 'performance' },
          transform: [{ fold: [...PERFORMANCE_METRICS], as: ['metric', 'value'] }, { filter: 'isValid(datum.value)' }],
          mark: { type: 'line', point, strokeWidth: 1.5 },
          encoding: {
            y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
            color: { field: 'metric', type: 'nominal', title: 'metric', scale: { scheme: 'tableau10' } },
            tooltip: [
              { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
              { field: 'metric' },
              { field: 'value', type: 'quantitative', format: `.${SHOWN.performance}f` },
              { field: 'labelled', type: 'quantitative', title: 'labelled rows' },
              { field: 'labelled_share', type: 'quantitative', title: 'labelled share', format: '.0%' }
            ]
          }
        }
      ]),
    alerts: () =>
      panel(
        'Alerts',
        [
          {
            data: { name: 'alerts' },
            transform: [{ calculate: 'isValid(datum.t_end) ? datum.t_end : t_to', as: 'until' }],
            mark: { type: 'bar', height: 8, cornerRadius: 2, opacity: 0.8 },
            encoding: {
              x2: { field: 'until' },
              y: { field: 'rule', type: 'nominal', title: null, axis: { labelLimit: 80 } },
              color: { field: 'severity', type: 'nominal', title: 'alert', scale: SEVERITY_COLOURS },
              tooltip: [{ field: 'rule' }, { field: 'severity' }, { field: 'state' }, { field: 'message' }, { field: 'value', type: 'quantitative' }, { field: 'threshold', type: 'quantitative' }]
            }
          }
        ],
        { height: { step: 14 } }
      )
  };

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: { text: options.title, fontSize: 13, fontWeight: 'bold' } } : {}),
    params: [
      { name: 't_from', value: options.from },
      { name: 't_to', value: options.to },
      { name: 'bucket_ms', value: options.bucketSeconds * 1000 },
      // Set by the extension where a click can inspect (see INSPECTABLE_LAYERS).
      { name: 'inspectable', value: false }
    ],
    vconcat: options.panels.map((p) => builders[p]()),
    spacing: 14,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    background: null,
    padding: 4,
    config: {
      font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      view: { stroke: null },
      // Said once here rather than on every mark: no ARIA label per datum (one per heat-map
      // cell would be most of the SVG, and noise to a screen reader; the chart's description
      // says what it shows); the alert rules (the only rule marks) dashed.
      mark: { aria: false },
      rule: { strokeDash: [4, 3], strokeWidth: 1.5 },
      // Every panel's left axis takes the same room, so the plots line up on the time axis.
      axisLeft: { minExtent: 84, maxExtent: 84 },
      // The shared time axis: 24-hour clock (vega's default writes minutes on a 12-hour clock without am/pm).
      axisX: { title: null, labelOverlap: true, tickCount: 8, format: TIME_AXIS_FORMAT },
      axisQuantitative: { tickCount: 3 },
      axis: { labelColor: NEUTRAL.text, titleColor: NEUTRAL.text, domainColor: NEUTRAL.domain, tickColor: NEUTRAL.domain, gridColor: NEUTRAL.grid, labelFontSize: 10, titleFontSize: 10 },
      legend: { labelColor: NEUTRAL.text, titleColor: NEUTRAL.text, labelFontSize: 10, titleFontSize: 10, symbolSize: 60 },
      // The panels' titles (the chart's own, when it has one, says more).
      title: { color: NEUTRAL.text, subtitleColor: NEUTRAL.text, anchor: 'start', fontSize: 12, fontWeight: 'normal', offset: 4 },
      style: { 'guide-label': { fill: NEUTRAL.text }, 'guide-title': { fill: NEUTRAL.text } }
    }
  };
}

/** The spec of a payload's chart (`still`: for a static image, see `monitorChartSpec`). */
export function monitorChartSpecFor(
  payload: { from: string; to: string; panels: readonly Panel[]; series: Pick<ChartSeries, 'bucket_seconds' | 'drift_features'> },
  options: { still?: boolean } = {}
): Spec {
  return monitorChartSpec({
    panels: payload.panels,
    from: Date.parse(payload.from),
    to: Date.parse(payload.to),
    bucketSeconds: payload.series.bucket_seconds,
    featureCount: payload.series.drift_features.length,
    ...options
  });
}

/** The spec with its data inline as named datasets: what Vega-Lite compiles. */
export function withData(spec: Spec, series: Pick<ChartSeries, ChartDataset>): Spec {
  const datasets: Record<string, unknown[]> = {};
  for (const name of CHART_DATASETS) datasets[name] = (series[name] ?? []) as unknown[];
  return { ...spec, datasets };
}
