/**
 * The monitor chart as a static SVG, drawn in the service by vega's headless renderer
 * (no canvas, no browser): the fallback image of `nd.monitor` outputs, for viewers without
 * the extension. The spec has its data inline and loads nothing. What a static image does
 * not need is left out — tooltips, a label per datum, digits past a hundredth of a pixel —
 * and the heat map draws one rect per run of equal cells, so that it stays small.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { type ChartSeries, monitorChartSpecFor, withData } from './monitor-chart.js';
import { compactSvg } from './svg-compact.js';

/** Loads nothing: a monitor spec has all its data inline, and a spec naming a URL must not fetch it. */
const NO_LOADER = {
  load: () => Promise.reject(new Error('the monitor chart loads no external data')),
  sanitize: () => Promise.reject(new Error('the monitor chart loads no external data')),
  http: () => Promise.reject(new Error('the monitor chart loads no external data')),
  file: () => Promise.reject(new Error('the monitor chart loads no external data'))
};

/**
 * Renders a Vega-Lite spec (with its datasets inline) to SVG text; `still` leaves out the
 * points that lines draw at their data (Vega-Lite's `point` overlays, style `point`): the
 * interactive chart has them for their tooltips, a still image reads the same without them
 * (the legends, drawn from the scales, keep their filled circles).
 */
export async function renderSvg(spec: Record<string, unknown>, options: { still?: boolean } = {}): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  if (options.still) withoutPointOverlays(compiled as unknown as VegaGroup);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: NO_LOADER as unknown as vega.Loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The payload's chart (its series whole) as a compact static SVG (typed by what it reads: monitor-payload.ts imports this file). */
export async function monitorSvg(payload: Parameters<typeof monitorChartSpecFor>[0] & { series: ChartSeries }): Promise<string> {
  const spec = monitorChartSpecFor(payload, { still: true });
  const data = withData(spec, payload.series);
  return compactSvg(await renderSvg({ ...data, datasets: { ...(data.datasets as object), drift_runs: driftRuns(payload.series) } }, { still: true }));
}

interface VegaGroup {
  marks?: Array<VegaGroup & { type: string; style?: string | string[] }>;
}

/** Takes Vega-Lite's point overlays of lines (symbol marks of style `point`) out of a compiled spec, at any depth. */
function withoutPointOverlays(group: VegaGroup): void {
  if (!group.marks) return;
  group.marks = group.marks.filter((mark) => !(mark.type === 'symbol' && [mark.style].flat().includes('point')));
  for (const mark of group.marks) withoutPointOverlays(mark);
}

/**
 * The heat map's cells as runs: per feature, adjacent buckets with the same verdict as one
 * row `{t, t_end, f, drifted}` (what the still spec's drift panel reads).
 */
export function driftRuns(series: Pick<ChartSeries, 'drift' | 'bucket_seconds'>): Array<{ t: number; t_end: number; f: number; drifted: number }> {
  const bucketMs = series.bucket_seconds * 1000;
  const open = new Map<number, { t: number; t_end: number; f: number; drifted: number }>();
  const runs: Array<{ t: number; t_end: number; f: number; drifted: number }> = [];
  for (const row of [...series.drift].sort((a, b) => a.t - b.t)) {
    row.drifted.forEach((drifted, f) => {
      if (drifted === null) return;
      const run = open.get(f);
      if (run && run.t_end === row.t && run.drifted === drifted) {
        run.t_end = row.t + bucketMs;
      } else {
        const next = { t: row.t, t_end: row.t + bucketMs, f, drifted };
        runs.push(next);
        open.set(f, next);
      }
    });
  }
  return runs;
}
