/**
 * nbdeploy's notebook outputs as MIME bundles, the same as the Python bridge's
 * (python-bridge/nbdeploy/display.py): the nbdeploy JSON payload that the JupyterLab
 * extension renders, a `text/plain` summary and a static `text/html` fallback that reads
 * well in any viewer. The HTML uses no colours of its own beyond pass/fail marks, so it
 * suits light and dark themes.
 */
import type { MonitorPayload } from '../monitoring/monitor-payload.js';
import type { Deployment, ValidationReport } from './types.js';

export const VALIDATION_MIME = 'application/vnd.nbdeploy.validation+json';
export const DEPLOYMENT_MIME = 'application/vnd.nbdeploy.deployment+json';
export const MONITOR_MIME = 'application/vnd.nbdeploy.monitor+json';
export const INSPECT_MIME = 'application/vnd.nbdeploy.inspect+json';

export type MimeBundle = Record<string, unknown>;

const TABLE = 'style="border-collapse:collapse;margin:4px 0 10px 0;font-size:12px"';
const cellStyle = (align: string): string => `style="border:1px solid rgba(128,128,128,.35);padding:2px 8px;text-align:${align}"`;
const MARK: Record<string, string> = { pass: '✅ pass', fail: '❌ fail', 'n/a': '➖ n/a', missing: '⚠️ missing' };

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** A number with 4 decimals, `—` for none (Python's `_fmt`). */
function fmt(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(4);
  return escapeHtml(String(value));
}

/** Python's `{:g}` for percentages (100, 20, 12.5). */
const pct = (v: number): string => String(Number(v.toPrecision(6)));

export function table(header: string[], rows: unknown[][]): string {
  const cell = (tag: string, value: unknown, i: number): string => `<${tag} ${cellStyle(i === 0 ? 'left' : 'right')}>${value}</${tag}>`;
  const head = header.map((h, i) => cell('th', escapeHtml(h), i)).join('');
  const body = rows.map((r) => '<tr>' + r.map((v, i) => cell('td', v, i)).join('') + '</tr>').join('');
  return `<table ${TABLE}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function validationText(report: ValidationReport): string {
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  const metrics = Object.entries(report.metrics)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${(v as number).toFixed(4)}`)
    .join(', ');
  const lines = [`Validation of ${report.model} v${report.version} on ${report.rows} rows: ${verdict}`, `  ${metrics}`];
  const failed = report.gates.filter((g) => g.status === 'fail').map((g) => `${g.metric} ${g.condition}`);
  if (failed.length) lines.push(`  failed gates: ${failed.join('; ')}`);
  const drifted = report.data_checks.drifted_features ?? [];
  if (drifted.length) lines.push(`  holdout drifted from training on: ${drifted.join(', ')}`);
  return lines.join('\n');
}

export function validationHtml(report: ValidationReport): string {
  const verdict = report.passed ? '✅ passed' : '❌ failed';
  const parts = [
    `<div><h4 style='margin:4px 0'>Validation of <code>${escapeHtml(report.model)}</code> version ${report.version} — ${verdict}</h4>` +
      `<div style='opacity:.75;font-size:12px'>${report.rows} rows · ${escapeHtml(report.created_at)}` +
      (report.baseline_version ? ` · compared with production v${report.baseline_version}` : '') +
      '</div>'
  ];
  const rows = Object.entries(report.metrics).map(([name, value]) => {
    const interval = report.intervals[name];
    return [
      escapeHtml(name),
      fmt(value),
      interval ? `${interval[0].toFixed(4)} – ${interval[1].toFixed(4)}` : '—',
      fmt(report.training?.[name]),
      fmt(report.baseline?.[name])
    ];
  });
  parts.push(table(['metric', 'value', '95% interval', 'training', 'production'], rows));
  if (report.gates.length) {
    parts.push('<b>Gates</b>');
    parts.push(
      table(
        ['metric', 'condition', 'value', 'threshold', 'result'],
        report.gates.map((g) => [escapeHtml(g.metric), escapeHtml(g.condition), fmt(g.value), fmt(g.threshold), MARK[g.status]])
      )
    );
  }
  const matrix = report.details.confusion_matrix;
  if (matrix) {
    parts.push('<b>Confusion matrix</b> (rows: true class, columns: predicted)');
    parts.push(table(['', ...matrix.labels], matrix.labels.map((c, i) => [escapeHtml(c), ...matrix.matrix[i]!])));
  }
  const checks = report.data_checks;
  const drifted = checks.drifted_features ?? [];
  parts.push(
    "<b>Data checks</b><ul style='margin:2px 0 8px 0;font-size:12px'>" +
      `<li>holdout drift from training: ${drifted.length ? escapeHtml(drifted.join(', ')) : 'none detected'}` +
      ` (${Object.keys(checks.drift ?? {}).length} features tested)</li></ul>`
  );
  if (report.checklist.length) {
    parts.push('<b>Governance checklist</b>');
    parts.push(table(['item', 'status', 'detail'], report.checklist.map((c) => [escapeHtml(c.label), MARK[c.status], escapeHtml(c.detail)])));
  }
  parts.push('</div>');
  return parts.join('');
}

/** JSON as the notebook stores it: no NaN or infinities (they become null). */
function jsonable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}

export function validationBundle(report: ValidationReport): MimeBundle {
  const payload = jsonable(report);
  return { [VALIDATION_MIME]: payload, 'text/plain': validationText(payload), 'text/html': validationHtml(payload) };
}

export function deploymentText(d: Deployment): string {
  const traffic = d.traffic.map((t) => `v${t.version} ${t.role} ${pct(t.percent)}%`).join(', ');
  const capture = d.capture ? ` — keeps ${pct(d.capture.rate * 100)}% of requests for ${d.capture.retention_days} d` : '';
  return `${d.model} v${d.version} (${d.stage}) — traffic: ${traffic || 'none'} — ${d.endpoint}${capture}`;
}

export function deploymentHtml(d: Deployment): string {
  const rows = d.traffic.map((t) => [`v${t.version}`, escapeHtml(t.role), `${pct(t.percent)}%`]);
  const snippets = Object.entries(d.snippets)
    .map(
      ([lang, code]) =>
        `<div style='font-size:12px;margin-top:6px'><b>${escapeHtml(lang)}</b></div>` +
        `<pre style='margin:2px 0;padding:6px;border:1px solid rgba(128,128,128,.35);overflow:auto'>${escapeHtml(code)}</pre>`
    )
    .join('');
  return (
    `<div><h4 style='margin:4px 0'>Deployed <code>${escapeHtml(d.model)}</code> version ${d.version} — ${escapeHtml(d.stage)}</h4>` +
    `<div style='font-size:12px'>endpoint <code>${escapeHtml(d.endpoint)}</code></div>` +
    (d.capture ? `<div style='font-size:12px'>capture: keeps ${pct(d.capture.rate * 100)}% of requests for ${d.capture.retention_days} d</div>` : '') +
    table(['version', 'role', 'traffic'], rows) +
    snippets +
    '</div>'
  );
}

export function deploymentBundle(d: Deployment): MimeBundle {
  const payload = jsonable({ model: d.model, version: d.version, stage: d.stage, traffic: d.traffic, endpoint: d.endpoint, snippets: d.snippets, capture: d.capture });
  return { [DEPLOYMENT_MIME]: payload, 'text/plain': deploymentText(payload), 'text/html': deploymentHtml(payload) };
}

/**
 * The monitor output for `nd.monitor(name)`: the service's `monitor` reply — the chart's
 * payload (the extension draws it live), the same chart as SVG for any other viewer, and
 * the text summary — exactly as Python's `nd.monitor` shows it.
 */
export function monitorBundle(reply: { payload: MonitorPayload; svg?: string; text: string }): MimeBundle {
  const bundle: MimeBundle = { [MONITOR_MIME]: jsonable(reply.payload), 'text/plain': reply.text };
  if (reply.svg) bundle['image/svg+xml'] = reply.svg;
  return bundle;
}
