/**
 * The validation report renderer (`application/vnd.nbdeploy.validation+json`): the
 * verdict, metrics with 95% intervals beside training and production, gates, confusion
 * matrix, charts (confusion heat map, ROC, calibration: Vega-Lite, loaded lazily), slices,
 * data checks, governance checklist and reviews — from the payload alone.
 *
 * Where the service is reachable (a trusted notebook, a connected service client) and the
 * report names a model and version, a reviewer's bar follows: Approve / Request changes,
 * recorded as the Jupyter user. Untrusted and shared notebooks get the static report only.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

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
import { RENDERER_RANK, VALIDATION_MIME_TYPE } from './mime.js';
import type { IDataChecks, IReview, IValidationReport } from './payloads.js';
import { validationChartsSpec } from './validation-charts.js';
import { VegaView } from './vega-view.js';
import { ReviewBar } from './review-bar.js';
import type { ServiceClient } from './service-client.js';

/** The class of the renderer's node. */
const RENDERER_CLASS = 'jp-nbdeploy-Validation';

/**
 * The bridge's metrics in the order it computes them (python-bridge/nbdeploy/metrics.py);
 * others follow. Saved notebooks sort JSON keys, so the payload's own order is lost.
 */
const METRIC_ORDER = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss', 'mae', 'rmse', 'r2', 'mape'];

/** A validation report in a notebook output. */
export class RenderedValidation extends Widget implements IRenderMime.IRenderer {
  /** `client`: the service connection, for the reviewer's bar; null renders the report only. */
  constructor(options: IRenderMime.IRendererOptions, client: ServiceClient | null = null) {
    super();
    this._mimeType = options.mimeType;
    this._client = client;
    this.addClass(RENDERER_CLASS);
    client?.stateChanged.connect(this._showReviewBar, this);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const report = model.data[this._mimeType] as unknown as IValidationReport;
    this._trusted = model.trusted;
    this._report = report;
    this._reviewBar = null;
    this.node.replaceChildren(...renderReport(report));
    this._showReviewBar();
    this._charts?.dispose();
    this._charts = null;
    const host = this.node.querySelector<HTMLElement>(`.${CHARTS_CLASS}`);
    const spec = host ? validationChartsSpec(report) : null;
    if (host && spec) {
      this._charts = new VegaView(host);
      // The tables above say the same; a chart that cannot be drawn only leaves its space empty.
      await this._charts.draw(spec, { datasets: {}, params: {} }).catch(() => undefined);
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._client?.stateChanged.disconnect(this._showReviewBar, this);
    this._charts?.dispose();
    this._charts = null;
    super.dispose();
  }

  /** Adds the reviewer's bar once the service is reachable (it stays when the connection drops: its buttons say why then). */
  private _showReviewBar(): void {
    const report = this._report;
    if (this._reviewBar || !this._client || this._client.state !== 'connected' || !this._trusted) {
      return;
    }
    if (!report || typeof report.model !== 'string' || !Number.isInteger(report.version) || !report.metrics) {
      return;
    }
    this._reviewBar = new ReviewBar(this._client, report.model, report.version, typeof report.id === 'number' ? report.id : null);
    this.node.append(this._reviewBar.node);
  }

  private _mimeType: string;
  private readonly _client: ServiceClient | null;
  private _report: IValidationReport | null = null;
  private _trusted = false;
  private _reviewBar: ReviewBar | null = null;
  private _charts: VegaView | null = null;
}

/** Renders validation reports; safe: payload text only becomes text nodes. */
export const validationRendererFactory: IRenderMime.IRendererFactory = createValidationRendererFactory(null);

/** The validation renderer with the reviewer's bar where `client` reaches the service. */
export function createValidationRendererFactory(client: ServiceClient | null): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [VALIDATION_MIME_TYPE],
    defaultRank: RENDERER_RANK,
    createRenderer: options => new RenderedValidation(options, client)
  };
}

/**
 * The report's sections, in reading order; absent parts are skipped. (Exported for other
 * views of a stored report, such as the Models sidebar's.)
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

/** Where the renderer draws the report's charts (empty until vega-embed has loaded). */
const CHARTS_CLASS = 'jp-nbdeploy-charts';

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
            (shared.rows ? ' — they flatter the metrics' : '')
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
