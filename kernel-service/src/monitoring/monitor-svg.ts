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
import type { MonitorPayload } from './monitor-payload.js';

/** Loads nothing: a monitor spec has all its data inline, and a spec naming a URL must not fetch it. */
const NO_LOADER = {
  load: () => Promise.reject(new Error('the monitor chart loads no external data')),
  sanitize: () => Promise.reject(new Error('the monitor chart loads no external data')),
  http: () => Promise.reject(new Error('the monitor chart loads no external data')),
  file: () => Promise.reject(new Error('the monitor chart loads no external data'))
};

/** Renders a Vega-Lite spec (with its datasets inline) to SVG text. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: NO_LOADER as unknown as vega.Loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The payload's chart (its series whole) as a compact static SVG. */
export async function monitorSvg(payload: MonitorPayload): Promise<string> {
  const spec = monitorChartSpecFor(payload, { still: true });
  const data = withData(spec, payload.series);
  return compactSvg(await renderSvg({ ...data, datasets: { ...(data.datasets as object), drift_runs: driftRuns(payload.series) } }));
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

/** Attributes that hold coordinates. */
const GEOMETRY = /\s(d|transform|x|y|x1|y1|x2|y2|width|height)="([^"]*)"/g;
const DECIMAL = /-?\d*\.\d+(?:e-?\d+)?/g;
/** Inherited presentation attributes: said on a group, they hold for its children. */
const INHERITED = new Set(['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'font-size', 'font-weight', 'font-style', 'text-anchor']);
/** A group of marks with no group inside. */
const LEAF_GROUP = /(<g class="mark-[^"]*"[^>]*)>((?:(?!<g[\s>]|<\/g>).)*)<\/g>/g;
const ATTRIBUTE = /\s([\w-]+)="([^"]*)"/g;
const tenth = (n: string): string => String(Math.round(Number(n) * 10) / 10);

/**
 * vega's SVG drawn the same in fewer bytes: coordinates to a tenth of a pixel; no ARIA or
 * pointer-event attributes (a static image); no paths that draw nothing (vega's unfilled
 * group backgrounds and foregrounds), no `opacity="1"` (the default), no text hidden by
 * `labelOverlap` (opacity 0); axis ticks and grid lines of a group as one path; vega's
 * circle symbols as circles; and what every mark of a group shares (fill, stroke, font…)
 * said once on the group, the font family once on the root.
 */
export function compactSvg(svg: string): string {
  let out = svg.replace(GEOMETRY, (_, name: string, value: string) => ` ${name}="${value.replace(DECIMAL, tenth)}"`);
  out = out.replace(/ (?:role|aria-[\w-]+|pointer-events)="[^"]*"/g, '');
  out = out.replace(/<path class="(?:background|foreground)" d="[^"]*"(?: display="none")?\/>/g, '');
  out = out.replace(/ opacity="1"/g, '');
  out = out.replace(/<text\b[^>]*\sopacity="0"[^>]*>[^<]*<\/text>/g, '');
  out = out.replace(
    /<path transform="translate\(([-\d.]+),([-\d.]+)\)" d="M([\d.]+),0A\3,\3,0,1,1,-\3,0A\3,\3,0,1,1,\3,0"/g,
    '<circle cx="$1" cy="$2" r="$3"'
  );
  out = out.replace(LEAF_GROUP, (group: string, open: string, body: string) => {
    const rules = open.includes('role-axis') ? linesAsPath(body) : null;
    return hoistShared(open, rules ?? body) ?? (rules !== null ? `${open}>${rules}</g>` : group);
  });
  const families = new Map<string, number>();
  for (const m of out.matchAll(/ font-family="([^"]*)"/g)) families.set(m[1]!, (families.get(m[1]!) ?? 0) + 1);
  const common = [...families].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (common !== undefined) {
    out = out.split(` font-family="${common}"`).join('');
    out = out.replace(/^<svg\b/, `<svg font-family="${common}"`);
  }
  return out;
}

/** An axis group's lines (`<line transform="translate(x,y)" x2 y2 …/>`, all styled alike) as one path; null otherwise. */
function linesAsPath(body: string): string | null {
  const lines = [...body.matchAll(/<line transform="translate\(([-\d.]+),([-\d.]+)\)" x2="([-\d.]+)" y2="([-\d.]+)"((?: [\w-]+="[^"]*")*)\/>/g)];
  if (lines.length < 2 || lines.map((l) => l[0]).join('') !== body || new Set(lines.map((l) => l[5])).size !== 1) return null;
  return `<path d="${lines.map(([, x, y, dx, dy]) => `M${x},${y}l${dx},${dy}`).join('')}"${lines[0]![5]}/>`;
}

/** The group with the inherited attributes all its elements share said on it once; null when none are shared. */
function hoistShared(open: string, body: string): string | null {
  const elements = [...body.matchAll(/<(\w+)((?: [\w-]+="[^"]*")*)\/?>/g)].filter((m) => m[1] !== 'tspan');
  if (elements.length < 2) return null;
  const attributes = elements.map((m) => new Map([...m[2]!.matchAll(ATTRIBUTE)].map((a) => [a[1]!, a[2]!])));
  const shared = [...attributes[0]!].filter(([name, value]) => INHERITED.has(name) && attributes.every((a) => a.get(name) === value));
  if (shared.length === 0) return null;
  let inner = body;
  for (const [name, value] of shared) inner = inner.split(` ${name}="${value}"`).join('');
  return `${open}${shared.map(([name, value]) => ` ${name}="${value}"`).join('')}>${inner}</g>`;
}
