/**
 * What `nd.monitor` shows and the `monitor` message returns: a self-contained payload —
 * the series over time as the chart draws them and the chart spec that draws them — so a
 * saved notebook shows the last snapshot without the service; beside it the `status`
 * summary of the span (data for code, not drawn, so not written into the notebook), the
 * chart as an SVG and a text summary (the notebook output's fallbacks). A live view asks
 * only for the buckets it does not have settled (`since`).
 */
import { type ChartSeries, type Panel, chartPanels, chartSeries, monitorChartSpecFor, seriesSince } from './monitor-chart.js';
import { monitorSvg } from './monitor-svg.js';
import type { Monitor } from './monitor.js';
import type { MonitorState } from './monitor-state.js';
import type { ChartAlert } from './series.js';
import type { StatusView } from './views.js';

export interface MonitorPayload {
  model: string;
  version: number | null;
  /** Whether `version` was asked for (a live view keeps it) or is the production version (a live view follows production). */
  version_pinned: boolean;
  last_seconds: number;
  window_seconds: number;
  bucket_seconds: number;
  /** ISO time the snapshot was taken (the span ends then). */
  generated_at: string;
  from: string;
  to: string;
  /** Whole, or from `series.since` on (see `monitorOutput`). */
  series: ChartSeries;
  panels: Panel[];
  /** Vega-Lite; its named datasets are the arrays of `series` of the same name (monitor-chart.ts `withData`). */
  spec: Record<string, unknown>;
}

/** The `status` of the span, with the alerts as the `status` reply has them. */
export type MonitorStatus = StatusView & { alerts?: readonly ChartAlert[] };

/** A payload and the `status` summary of its span (what the text summary and `nd.monitor(...).status` read). */
export interface MonitorSnapshot {
  payload: MonitorPayload;
  status: MonitorStatus;
}

/** The `monitor` reply's content. */
export interface MonitorOutput extends MonitorSnapshot {
  text: string;
  /** The whole chart as SVG, when asked for. */
  svg?: string;
}

/**
 * The chart's payload over the last `lastSeconds`, and the `status` of that span;
 * `alertsSince` gives the alerts firing now or fired or resolved since a time (ms), when the
 * service has alerting.
 */
/** Where a payload's status and series come from: the service's monitor (its worker answers), or monitoring in one thread (tests). */
export type MonitorQueries = Pick<Monitor, 'status' | 'series'> | Pick<MonitorState, 'status' | 'series'>;

export async function monitorSnapshot(
  monitor: MonitorQueries,
  model: string,
  lastSeconds: number,
  version?: number,
  alertsSince?: (since: number) => readonly ChartAlert[] | Promise<readonly ChartAlert[]>
): Promise<MonitorSnapshot> {
  const monitored = await monitor.status(model, lastSeconds, version);
  const alerts = await alertsSince?.(Date.parse(monitored.from));
  // The status summary carries the alerts as the `status` reply does.
  const status = alerts ? { ...monitored, alerts } : monitored;
  const series = chartSeries(await monitor.series(model, status, alerts));
  const payload = {
    model,
    version: status.version,
    version_pinned: version !== undefined,
    last_seconds: lastSeconds,
    window_seconds: status.window_seconds,
    bucket_seconds: series.bucket_seconds,
    generated_at: status.to,
    from: status.from,
    to: status.to,
    series,
    panels: chartPanels(series)
  };
  return { payload: { ...payload, spec: monitorChartSpecFor(payload) }, status };
}

/**
 * The `monitor` reply: the payload (with `since`, only the buckets from then on, for a live
 * view that has the settled ones before), its text summary and, with `svg`, the whole chart
 * as SVG.
 */
export async function monitorOutput(
  monitor: MonitorQueries,
  model: string,
  request: { lastSeconds: number; version?: number; since?: number; svg?: boolean },
  alertsSince?: (since: number) => readonly ChartAlert[] | Promise<readonly ChartAlert[]>
): Promise<MonitorOutput> {
  const { payload: whole, status } = await monitorSnapshot(monitor, model, request.lastSeconds, request.version, alertsSince);
  const svg = request.svg ? await monitorSvg(whole) : undefined;
  const payload = request.since !== undefined ? { ...whole, series: seriesSince(whole.series, request.since) } : whole;
  return { payload, status, text: monitorText(whole, status), ...(svg !== undefined ? { svg } : {}) };
}

function spanText(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

const fixed = (x: number, digits: number): string => x.toFixed(digits);

/** The payload and its span's status as a few lines of text: the `text/plain` of the notebook output. */
export function monitorText(payload: MonitorPayload, s: MonitorStatus): string {
  const ops = s.ops;
  const version = payload.version !== null ? ` v${payload.version}` : '';
  const lines = [`Monitoring of ${payload.model}${version} over the last ${spanText(payload.last_seconds)} (to ${payload.generated_at})`];
  const latency =
    (['p50', 'p95', 'p99'] as const)
      .filter((k) => ops.latency_ms[k] !== null)
      .map((k) => `${k} ${fixed(ops.latency_ms[k]!, 1)} ms`)
      .join(', ') || 'no latency yet';
  const rate = ops.error_rate !== null ? ` (${fixed(ops.error_rate * 100, 1)}%)` : '';
  lines.push(`  traffic: ${ops.requests} requests, ${ops.rows} rows, ${fixed(ops.throughput_per_s, 2)} rows/s, ${ops.errors} errors${rate}; latency ${latency}`);
  if (s.drift_share !== null) {
    const tested = Object.values(s.drift).filter((d) => d !== null);
    const drifted = Object.entries(s.drift)
      .filter(([, d]) => d?.drifted)
      .map(([name]) => name)
      .sort();
    const names = drifted.length > 0 ? ` (${drifted.slice(0, 8).join(', ')}${drifted.length > 8 ? '…' : ''})` : '';
    lines.push(`  drift: ${drifted.length} of ${tested.length} features drifted${names}`);
  }
  const perf = s.performance;
  const shown = (['accuracy', 'f1', 'roc_auc', 'mae', 'rmse'] as const)
    .filter((k) => perf[k] !== null)
    .map((k) => `${k} ${fixed(perf[k]!, 4)}`)
    .join(', ');
  if (shown) lines.push(`  performance (${perf.labelled} labelled rows): ${shown}`);
  const alerts = payload.series.alerts;
  if (alerts.length > 0) {
    const firing = alerts.filter((a) => a.state === 'firing').map((a) => a.rule);
    lines.push(`  alerts: ${firing.length} firing${firing.length > 0 ? ` (${firing.join(', ')})` : ''}, ${alerts.length - firing.length} resolved`);
  }
  return lines.join('\n');
}
