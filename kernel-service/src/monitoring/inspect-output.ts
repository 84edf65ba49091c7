/**
 * What `inspect` shows, made once in the service for every client: the panel's payload
 * (application/vnd.nbdeploy.inspect+json: the findings and their chart), a text summary and a
 * static HTML page with the chart as inline SVG (vega's headless renderer, as the monitor
 * chart's fallback), so that a notebook shows the panel in any viewer without the extension.
 * Python's `nd.inspect` and the TypeScript notebook API display these as they come.
 */
import { type InspectChart, inspectChart } from './inspect-chart.js';
import type { InspectFeature, InspectFindings, InspectTest } from './inspect-report.js';
import { renderSvg } from './monitor-svg.js';
import { compactSvg } from './svg-compact.js';

/** The panel's payload. */
export interface InspectPayload extends InspectFindings {
  chart: InspectChart | null;
}

export function inspectPayload(findings: InspectFindings): InspectPayload {
  return { ...findings, chart: inspectChart(findings.feature) };
}

const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(digits)).toString());
const pct = (share: number | null | undefined): string => (share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`);

/** "KS 0.412 (p 1.2e-20): drifted" */
export function testLine(t: InspectTest | null): string {
  if (!t) return 'not tested';
  const p = t.p_value === null ? '' : ` (p ${t.p_value < 1e-4 ? t.p_value.toExponential(1) : num(t.p_value, 3)})`;
  return `${METHOD_NAMES[t.method] ?? t.method} ${num(t.statistic)}${p}: ${t.drifted ? 'drifted' : 'no drift'} (threshold ${num(t.threshold)})`;
}

const METHOD_NAMES: Record<string, string> = { ks: 'KS', chisquare: 'chi-square', wasserstein: 'Wasserstein (normed)', jensenshannon: 'Jensen–Shannon', psi: 'PSI' };

function movedLine(f: InspectFeature): string {
  if (f.quantiles?.length) {
    return f.quantiles
      .slice(0, 3)
      .map((q) => `${quantileName(q.q)} ${num(q.training)} → ${num(q.captured)}`)
      .join(', ');
  }
  if (f.categories?.length) {
    return f.categories
      .slice(0, 3)
      .map((c) => `${c.category} ${pct(c.training)} → ${pct(c.captured)}`)
      .join(', ');
  }
  return '';
}

export function inspectText(p: InspectPayload): string {
  const f = p.feature;
  const lines = [
    `inspect of ${p.model} v${p.version}, feature ${JSON.stringify(f.name)}${p.picked ? ' (the most drifted)' : ''}, ${p.rows} captured rows from ${p.from} to ${p.to}`,
    `  ${testLine(f.test)}${f.note ? `; ${f.note}` : ''}`
  ];
  const moved = movedLine(f);
  if (moved) lines.push(`  moved most: ${moved}`);
  const kinds = Object.entries(p.integrity.counts);
  lines.push(`  integrity: ${kinds.length ? kinds.map(([k, n]) => `${k} ${n}`).join(', ') : 'no events'}`);
  const together = p.moved_together.filter((m) => m.drifted);
  lines.push(`  moved together: ${together.length ? together.slice(0, 5).map((m) => `${m.feature} (${testLine(m).split(':')[0]})`).join(', ') : 'no other feature drifted'}`);
  return lines.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

const TABLE = 'style="border-collapse:collapse;margin:4px 0 10px 0;font-size:12px"';
const cell = (tag: string, value: string, i: number): string =>
  `<${tag} style="border:1px solid rgba(128,128,128,.35);padding:2px 8px;text-align:${i === 0 ? 'left' : 'right'}">${value}</${tag}>`;

/** A table of escaped text. */
function table(header: string[], rows: string[][]): string {
  const head = header.map((h, i) => cell('th', escapeHtml(h), i)).join('');
  const body = rows.map((r) => '<tr>' + r.map((v, i) => cell('td', escapeHtml(v), i)).join('') + '</tr>').join('');
  return `<table ${TABLE}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The chart as SVG text; null when the feature has no chart. */
export async function inspectSvg(p: InspectPayload): Promise<string | null> {
  if (!p.chart) return null;
  return compactSvg(await renderSvg({ ...p.chart.spec, datasets: p.chart.datasets, background: 'transparent' }));
}

export async function inspectHtml(p: InspectPayload): Promise<string> {
  const f = p.feature;
  const svg = await inspectSvg(p);
  const parts = [
    `<div><h4 style='margin:4px 0'>Inspect <code>${escapeHtml(p.model)}</code> version ${p.version}: <code>${escapeHtml(f.name)}</code>` +
      `${p.picked ? ' (the most drifted)' : ''} — ${f.test ? (f.test.drifted ? '⚠️ drifted' : '✅ no drift') : '➖ not tested'}</h4>`,
    `<div style='font-size:12px'>${escapeHtml(testLine(f.test))} · ${p.rows} captured rows (${p.requests} requests) from ${escapeHtml(p.from)} to ${escapeHtml(p.to)}</div>`
  ];
  const notes = [f.note, p.truncated ? 'more rows were captured in the span than the limit: the oldest were read' : null, f.personal ? 'personal data: shown as salted hashes' : null];
  for (const note of notes) if (note) parts.push(`<div style='font-size:12px'>ℹ️ ${escapeHtml(note)}</div>`);
  if (svg) parts.push(`<div>${svg}</div>`);
  if (f.quantiles?.length) {
    parts.push('<b>Quantiles that moved most</b>');
    parts.push(table(['quantile', 'training', 'captured', 'shift', 'in sd'], f.quantiles.slice(0, 5).map((q) => [num(q.q, 3), num(q.training), num(q.captured), num(q.shift), num(q.shift_sd, 3)])));
  }
  if (f.categories?.length) {
    parts.push('<b>Categories that moved most</b>');
    parts.push(table(['category', 'training', 'captured', 'change'], f.categories.slice(0, 10).map((c) => [c.category, pct(c.training), pct(c.captured), `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)} pts`])));
  }
  const kinds = Object.entries(p.integrity.counts);
  parts.push('<b>Integrity events</b>');
  parts.push(
    kinds.length
      ? table(['feature', 'events', 'latest'], p.integrity.features.map((x) => [x.feature, Object.entries(x.counts).map(([k, n]) => `${k} ${n}`).join(', '), x.detail ?? '']))
      : "<div style='font-size:12px'>none in this span</div>"
  );
  if (p.moved_together.length) {
    parts.push('<b>Moved together</b> (the other features on the same rows, most drifted first)');
    parts.push(table(['feature', 'test', 'statistic', 'p-value', 'drifted'], p.moved_together.slice(0, 10).map((m) => [m.feature, METHOD_NAMES[m.method] ?? m.method, num(m.statistic), m.p_value === null ? '—' : num(m.p_value, 3), m.drifted ? 'yes' : 'no'])));
  }
  parts.push('</div>');
  return parts.join('');
}

/** A quantile level as readers name it: min, p5, median, p95, max. */
function quantileName(q: number): string {
  return q === 0 ? 'min' : q === 1 ? 'max' : q === 0.5 ? 'median' : `p${Number((q * 100).toPrecision(3))}`;
}
