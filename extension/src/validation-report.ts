/**
 * A validation report's sections as DOM elements, from the payload alone: the verdict,
 * metrics with 95% intervals beside training and production, gates, confusion matrix,
 * the charts' place, slices, data checks, governance checklist and reviews.
 *
 * One renderer for every view of a report: the notebook's panel (`validation.ts`, which
 * draws the charts into their place with vega-embed and adds the reviewer's bar), and the
 * standalone page the service writes (kernel-service/src/validation/report-page.ts, which
 * runs it with a document of its own and puts the charts there as SVG). It only uses `h`
 * and the helpers of `dom.ts`, and payload text only ever becomes text nodes.
 */

import {
  type Child,
  detailCell,
  formatNumber,
  formatPValue,
  formatShare,
  formatTime,
  h,
  section,
  statusBadge,
  table,
  textCell,
  textHeader
} from './dom.js';
import type { IDataChecks, IReview, IValidationReport } from './payloads.js';
import { validationChartsSpec } from './validation-charts.js';

/**
 * The bridge's metrics in the order it computes them (python-bridge/nbdeploy/metrics.py);
 * others follow. Saved notebooks sort JSON keys, so the payload's own order is lost.
 */
const METRIC_ORDER = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'mae', 'rmse', 'r2', 'mape'];

/** The class of the element that holds a report's sections (the styles are scoped to it). */
export const REPORT_CLASS = 'jp-nbdeploy-Validation';

/** The class of the element where a view draws the report's charts (empty until then). */
export const CHARTS_CLASS = 'jp-nbdeploy-charts';

/**
 * The report's sections, in reading order; absent parts are skipped. The charts' section
 * holds an empty element of class {@link CHARTS_CLASS} for the view to draw them in.
 */
export function renderReport(report: IValidationReport): HTMLElement[] {
  if (!report || typeof report !== 'object' || typeof report.model !== 'string' || !report.metrics) {
    return [h('div', { className: 'jp-nbdeploy-error' }, 'This nbdeploy validation output could not be read.')];
  }
  const sections = [
    header(report),
    metrics(report),
    gates(report),
    confusionMatrix(report),
    charts(report),
    slices(report),
    dataChecks(report.data_checks),
    checklist(report),
    reviews(report.reviews)
  ];
  return sections.filter((node): node is HTMLElement => node !== null);
}

/** The report's metric names: the bridge's order first, then any others by name. */
function metricNames(report: IValidationReport): string[] {
  const rank = (name: string) => (METRIC_ORDER.includes(name) ? METRIC_ORDER.indexOf(name) : METRIC_ORDER.length);
  return Object.keys(report.metrics).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function header(report: IValidationReport): HTMLElement {
  const facts = [
    `${report.rows} rows`,
    report.task,
    report.created_at ? formatTime(report.created_at) : null,
    report.baseline_version ? `compared with production v${report.baseline_version}` : null
  ].filter(Boolean);
  const verdict = report.passed ? 'jp-mod-pass' : 'jp-mod-fail';
  return h(
    'header',
    { className: `jp-nbdeploy-header ${verdict}` },
    h('span', { className: `jp-nbdeploy-verdict ${verdict}` }, report.passed ? '✓ Passed' : '✗ Failed'),
    h('span', { className: 'jp-nbdeploy-title' }, 'Validation of ', h('code', {}, report.model), ` version ${report.version}`),
    h('span', { className: 'jp-nbdeploy-facts' }, facts.join(' · '))
  );
}

function metrics(report: IValidationReport): HTMLElement {
  const production = report.baseline_version ? `production v${report.baseline_version}` : 'production';
  const rows = metricNames(report).map(name => {
    const interval = report.intervals?.[name];
    return {
      cells: [
        name,
        h('td', { className: 'jp-nbdeploy-value' }, formatNumber(report.metrics[name])),
        interval ? `${formatNumber(interval[0])} – ${formatNumber(interval[1])}` : '—',
        formatNumber(report.training?.[name]),
        formatNumber(report.baseline?.[name])
      ],
      className: `jp-nbdeploy-metric-${name}`
    };
  });
  return section('Metrics', table(['metric', 'value', '95% interval', 'training', production], rows, 'jp-nbdeploy-metrics'));
}

function gates(report: IValidationReport): HTMLElement | null {
  if (!report.gates?.length) {
    return null;
  }
  const rows = report.gates.map(gate => ({
    cells: [
      `${gate.metric} ${gate.condition}`,
      formatNumber(gate.value),
      formatNumber(gate.threshold),
      textCell(statusBadge(gate.status)),
      detailCell(gate.detail)
    ],
    className: `jp-nbdeploy-gate jp-mod-${gate.status === 'n/a' ? 'na' : gate.status}`
  }));
  return section('Gates', table(['gate', 'value', 'threshold', textHeader('result'), textHeader('why')], rows, 'jp-nbdeploy-gates'));
}

function confusionMatrix(report: IValidationReport): HTMLElement | null {
  const confusion = report.details?.confusion_matrix;
  if (!confusion?.labels.length) {
    return null;
  }
  const perClass = report.details?.per_class;
  const header = ['true \\ predicted', ...confusion.labels, ...(perClass ? ['precision', 'recall', 'f1', 'support'] : [])];
  const rows = confusion.labels.map((label, i) => {
    const counts: Child[] = confusion.matrix[i].map((count, j) => h('td', { className: i === j ? 'jp-nbdeploy-diagonal' : '' }, count));
    const stats = perClass?.[label];
    const extra: Child[] = perClass ? [formatNumber(stats?.precision), formatNumber(stats?.recall), formatNumber(stats?.f1), stats?.support ?? '—'] : [];
    return [label, ...counts, ...extra];
  });
  return section('Confusion matrix', table(header, rows, 'jp-nbdeploy-confusion'));
}

function charts(report: IValidationReport): HTMLElement | null {
  return validationChartsSpec(report) ? section('Charts', h('div', { className: CHARTS_CLASS })) : null;
}

function slices(report: IValidationReport): HTMLElement | null {
  if (!report.slices?.length) {
    return null;
  }
  const names = metricNames(report);
  const rows = report.slices.map(slice => {
    const values: Child[] = slice.metrics ? names.map(name => formatNumber(slice.metrics?.[name])) : [tooFewRows(names.length)];
    return [slice.slice, slice.rows, ...values];
  });
  return section('Slices', table(['slice', 'rows', ...names], rows, 'jp-nbdeploy-slices'));
}

/** The cell of a slice too small to measure (the bridge scores slices of 10 rows or more). */
function tooFewRows(columns: number): HTMLTableCellElement {
  const cell = detailCell('too few rows to measure');
  cell.colSpan = columns;
  return cell;
}

function dataChecks(checks: IDataChecks | undefined): HTMLElement | null {
  if (!checks || (!checks.drift && !checks.shared_with_training)) {
    return null;
  }
  const tested = Object.keys(checks.drift ?? {}).length;
  const drifted = checks.drifted_features ?? [];
  const driftItem = h(
    'li',
    { className: `jp-nbdeploy-drift ${drifted.length ? 'jp-mod-warn' : ''}`.trim() },
    drifted.length
      ? `Holdout drifted from training on ${drifted.length} of ${tested} features: `
      : `No drift from training detected (${tested} features tested)`,
    ...drifted.flatMap((name, i) => {
      const test = checks.drift?.[name];
      const label = test ? `${name} (${test.method === 'ks' ? 'KS' : 'χ²'} p = ${formatPValue(test.p_value)})` : name;
      return [i ? ', ' : '', h('span', { className: 'jp-nbdeploy-feature' }, label)];
    })
  );
  const shared = checks.shared_with_training;
  const sharedItem = shared
    ? h(
        'li',
        { className: `jp-nbdeploy-shared ${shared.checked && shared.rows ? 'jp-mod-warn' : ''}`.trim() },
        shared.checked
          ? `${shared.rows ?? 0} rows (${formatShare(shared.share ?? 0)}) shared with the training sample` +
            (shared.rows ? ' — they flatter the metrics' : '') +
            (shared.source === 'client' ? ' (the notebook’s check, not part of the verdict)' : '')
          : `Rows shared with training not checked: ${shared.detail ?? 'no training row hashes'}`
      )
    : null;
  return section('Data checks', h('ul', { className: 'jp-nbdeploy-checks' }, driftItem, sharedItem));
}

function checklist(report: IValidationReport): HTMLElement | null {
  if (!report.checklist?.length) {
    return null;
  }
  const rows = report.checklist.map(item => ({
    cells: [item.label, textCell(statusBadge(item.status)), detailCell(item.detail)],
    className: `jp-nbdeploy-checklistItem jp-mod-${item.status}`
  }));
  return section('Governance checklist', table(['item', textHeader('status'), textHeader('detail')], rows, 'jp-nbdeploy-checklist'));
}

function reviews(list: IReview[] | undefined): HTMLElement | null {
  if (!list?.length) {
    return null;
  }
  const items = list.map(review =>
    h(
      'li',
      { className: `jp-nbdeploy-review jp-mod-${review.decision === 'approve' ? 'pass' : 'fail'}`, dataset: { decision: review.decision } },
      h('span', { className: 'jp-nbdeploy-decision' }, review.decision === 'approve' ? '✓ Approved' : '✗ Changes requested'),
      ` by ${review.by} · ${formatTime(review.at)}`,
      review.comment ? h('div', { className: 'jp-nbdeploy-comment' }, review.comment) : null
    )
  );
  return section('Reviews', h('ul', { className: 'jp-nbdeploy-reviews' }, ...items));
}
