/**
 * What `nd.monitor` shows and the `monitor` message returns: a self-contained payload —
 * the `status` summary of the span, the series over time, and the chart spec that draws
 * them — so a saved notebook shows the last snapshot without the service.
 */
import { type Panel, chartPanels, monitorChartSpec } from './monitor-chart.js';
import type { Monitor, StatusView } from './monitor.js';
import type { AlertRecord, MonitorSeries } from './series.js';

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
  status: StatusView;
  series: MonitorSeries;
  panels: Panel[];
  /** Vega-Lite; its named datasets are the arrays of `series` of the same name (monitor-chart.ts `withData`). */
  spec: Record<string, unknown>;
}

export function monitorPayload(monitor: Monitor, model: string, lastSeconds: number, version?: number, alerts?: readonly AlertRecord[]): MonitorPayload {
  const status = monitor.status(model, lastSeconds, version);
  const series = monitor.series(model, status, alerts);
  const from = Date.parse(status.from);
  const to = Date.parse(status.to);
  const panels = chartPanels(series);
  return {
    model,
    version: status.version,
    version_pinned: version !== undefined,
    last_seconds: lastSeconds,
    window_seconds: status.window_seconds,
    bucket_seconds: series.bucket_seconds,
    generated_at: status.to,
    from: status.from,
    to: status.to,
    status,
    series,
    panels,
    spec: monitorChartSpec({ panels, from, to, bucketSeconds: series.bucket_seconds, featureCount: series.drift_features.length })
  };
}
