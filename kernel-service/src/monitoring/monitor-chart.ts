/**
 * The monitor chart: one Vega-Lite spec, small panels stacked on a shared time axis —
 * throughput and errors, latency percentiles, drift per feature and the drifted share,
 * integrity violations by kind, performance from delayed labels, alerts — with alerts drawn
 * as rules on every panel. The data are named datasets (the arrays of `MonitorSeries` of the
 * same name), kept out of the spec so a payload carries them once and a live view swaps
 * them without re-drawing; the time span is two parameters, `t_from` and `t_to`.
 *
 * The service renders it to SVG (monitor-svg.ts); the JupyterLab extension draws the same
 * spec from the payload and overrides `config` with the theme's colours. The colours here
 * are mid-tones that read on light and dark backgrounds alike.
 */
import type { MonitorSeries } from './series.js';

/** The dataset names the spec reads (each an array of MonitorSeries). */
/** Time-axis labels per tick unit. */
const TIME_AXIS_FORMAT = { years: '%Y', months: '%b', days: '%b %d', hours: '%H:%M', minutes: '%H:%M', seconds: ':%S', milliseconds: '.%L' };

export const CHART_DATASETS = ['ops', 'versions', 'errors', 'drift', 'drift_share', 'performance', 'integrity', 'alerts'] as const;
export type ChartDataset = (typeof CHART_DATASETS)[number];

export type Panel = 'traffic' | 'latency' | 'drift' | 'integrity' | 'performance' | 'alerts';

/** Width of the plotting area: with the legends, the chart fits a notebook's ~800 px. */
export const CHART_WIDTH = 480;
const PANEL_HEIGHT = 80;
const FEATURE_ROW = 11;

/** Mid-tone text and lines: readable on white and on JupyterLab's dark theme (the extension overrides them). */
const NEUTRAL = { text: '#888888', domain: '#8888887f', grid: '#88888833' };
const SEVERITY_COLOURS = { domain: ['critical', 'warning', 'info'], range: ['#d9534f', '#e8a33d', '#5b8fd1'] };

type Spec = Record<string, unknown>;

/** The panels a series has something to show in (traffic and latency always). */
export function chartPanels(series: MonitorSeries): Panel[] {
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
}): Spec {
  const x = {
    field: 't',
    type: 'temporal',
    title: null,
    scale: { domain: { expr: '[t_from, t_to]' } },
    // 24-hour clock (vega's default writes minutes on a 12-hour clock without am/pm).
    axis: { labelOverlap: true, tickCount: 8, format: TIME_AXIS_FORMAT }
  };
  const alertRules: Spec = {
    data: { name: 'alerts' },
    mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.5 },
    encoding: {
      x: { ...x },
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
    title: { text: title, anchor: 'start', fontSize: 12, fontWeight: 'normal', offset: 4 },
    width: CHART_WIDTH,
    height: PANEL_HEIGHT,
    // Marks stay inside the plot: the last bucket ends after the span does.
    layer: [...layers, alertRules].map((layer) => ({ ...layer, mark: { ...(layer.mark as Spec), clip: true } })),
    ...extra,
    resolve: { scale: { color: 'independent', ...((extra.resolve as { scale?: object } | undefined)?.scale ?? {}) } }
  });

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
              x,
              y: { field: 'throughput_per_s', type: 'quantitative', title: 'rows/s', axis: { tickCount: 3 } },
              tooltip: [
                { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
                { field: 'requests', type: 'quantitative' },
                { field: 'rows', type: 'quantitative' },
                { field: 'throughput_per_s', type: 'quantitative', title: 'rows/s', format: '.2f' },
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
              y: { field: 'count', type: 'quantitative', aggregate: 'sum', stack: true, title: 'errors', axis: { orient: 'right', tickCount: 3, tickMinStep: 1, format: 'd' } },
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
          mark: { type: 'line', point: { size: 14 }, strokeWidth: 1.5, interpolate: 'monotone' },
          encoding: {
            x,
            y: { field: 'ms', type: 'quantitative', title: 'ms', axis: { tickCount: 3 } },
            color: { field: 'percentile', type: 'nominal', title: 'latency', scale: { domain: ['p50', 'p95', 'p99'], range: ['#4c8bd6', '#b07cc6', '#e8a33d'] } },
            tooltip: [
              { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
              { field: 'percentile' },
              { field: 'ms', type: 'quantitative', format: '.2f' }
            ]
          }
        }
      ]),
    drift: () =>
      panel(
        'Drift per feature (test against the training profile)',
        [
          {
            data: { name: 'drift' },
            mark: { type: 'rect', stroke: null, opacity: 0.9 },
            encoding: {
              x,
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
                { field: 'feature' },
                { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
                { field: 'method' },
                { field: 'statistic', type: 'quantitative', format: '.4f' },
                { field: 'p_value', type: 'quantitative', format: '.4f', title: 'p-value' },
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
          data: { name: 'integrity' },
          transform: [
            { calculate: 'datum.t + bucket_ms * 0.2', as: 'bar_from' },
            { calculate: 'datum.t + bucket_ms * 0.8', as: 'bar_to' }
          ],
          mark: { type: 'bar' },
          encoding: {
            x: { ...x, field: 'bar_from' },
            x2: { field: 'bar_to' },
            y: { field: 'count', type: 'quantitative', aggregate: 'sum', stack: true, title: 'rows', axis: { tickCount: 3 } },
            color: { field: 'kind', type: 'nominal', title: 'violation', scale: { scheme: 'tableau10' } },
            tooltip: [{ field: 'kind' }, { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'rows' }]
          }
        }
      ]),
    performance: () =>
      panel('Performance (delayed labels)', [
        {
          data: { name: 'performance' },
          mark: { type: 'line', point: { size: 14 }, strokeWidth: 1.5 },
          encoding: {
            x,
            y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, axis: { tickCount: 3 } },
            color: { field: 'metric', type: 'nominal', title: 'metric', scale: { scheme: 'tableau10' } },
            tooltip: [
              { field: 't', type: 'temporal', title: 'from', format: '%H:%M:%S' },
              { field: 'metric' },
              { field: 'value', type: 'quantitative', format: '.4f' },
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
              x,
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
    ...(options.title ? { title: { text: options.title, anchor: 'start', fontSize: 13 } } : {}),
    params: [
      { name: 't_from', value: options.from },
      { name: 't_to', value: options.to },
      { name: 'bucket_ms', value: options.bucketSeconds * 1000 }
    ],
    vconcat: options.panels.map((p) => builders[p]()),
    spacing: 14,
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    background: null,
    padding: 4,
    config: {
      font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      view: { stroke: null },
      // Every panel's left axis takes the same room, so the plots line up on the time axis.
      axisLeft: { minExtent: 84, maxExtent: 84 },
      axis: { labelColor: NEUTRAL.text, titleColor: NEUTRAL.text, domainColor: NEUTRAL.domain, tickColor: NEUTRAL.domain, gridColor: NEUTRAL.grid, labelFontSize: 10, titleFontSize: 10 },
      legend: { labelColor: NEUTRAL.text, titleColor: NEUTRAL.text, labelFontSize: 10, titleFontSize: 10, symbolSize: 60 },
      title: { color: NEUTRAL.text, subtitleColor: NEUTRAL.text },
      style: { 'guide-label': { fill: NEUTRAL.text }, 'guide-title': { fill: NEUTRAL.text } }
    }
  };
}

/** The spec with its data inline as named datasets: what Vega-Lite compiles. */
export function withData(spec: Spec, series: Pick<MonitorSeries, ChartDataset>): Spec {
  const datasets: Record<string, unknown[]> = {};
  for (const name of CHART_DATASETS) datasets[name] = (series[name] ?? []) as unknown[];
  return { ...spec, datasets };
}
