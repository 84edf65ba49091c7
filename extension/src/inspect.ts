/**
 * The inspection renderer (`application/vnd.nbdeploy.inspect+json`): a drifted window of
 * captured traffic, one feature against its training profile — a header with the feature, the
 * drift test, its statistic and verdict; the distributions (the service's Vega-Lite chart:
 * overlaid histograms or category bars, drawn through `vega-view.ts` in the theme's colours);
 * the quantiles or categories that moved most; the window's integrity events; and the other
 * features that moved together — from the payload alone, so a shared notebook shows it.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { formatNumber, formatPValue, formatShare, formatTime, h, section, table, textCell, textHeader } from './dom.js';
import { INSPECT_MIME_TYPE, RENDERER_RANK } from './mime.js';
import type { IInspect, IInspectFeature, IInspectTest } from './payloads.js';
import { VegaView } from './vega-view.js';

/** Rows of the moved quantiles, categories, integrity and moved-together tables shown at most. */
const SHOWN_QUANTILES = 5;
const SHOWN_CATEGORIES = 10;
const SHOWN_FEATURES = 10;

const METHOD_NAMES: Record<string, string> = { ks: 'Kolmogorov–Smirnov', chisquare: 'chi-square', wasserstein: 'Wasserstein (normed)', jensenshannon: 'Jensen–Shannon', psi: 'PSI' };

export class RenderedInspect extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-nbdeploy-Inspect');
  }

  /** The chart, once drawn (tests read its data). */
  get chart(): VegaView | null {
    return this._chart;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = model.data[this._mimeType] as unknown as IInspect;
    this._chart?.dispose();
    this._chart = null;
    const host = h('div', { className: 'jp-nbdeploy-inspectChart' });
    this.node.replaceChildren(...renderInspect(payload, host));
    const chart = isInspect(payload) ? payload.chart : null;
    if (chart) {
      this._chart = new VegaView(host);
      try {
        await this._chart.draw(chart.spec, { datasets: chart.datasets, params: {} });
      } catch {
        host.replaceChildren(h('p', { className: 'jp-nbdeploy-detail' }, 'The chart could not be drawn; the tables below hold the same findings.'));
      }
    }
  }

  override dispose(): void {
    this._chart?.dispose();
    this._chart = null;
    super.dispose();
  }

  private _mimeType: string;
  private _chart: VegaView | null = null;
}

function isInspect(payload: unknown): payload is IInspect {
  const p = payload as IInspect | null;
  return !!p && typeof p === 'object' && typeof p.model === 'string' && !!p.feature && typeof p.feature.name === 'string';
}

/** The panel's sections; `chartHost` is where the chart goes (under the header). */
export function renderInspect(payload: IInspect, chartHost: HTMLElement = h('div', { className: 'jp-nbdeploy-inspectChart' })): HTMLElement[] {
  if (!isInspect(payload)) {
    return [h('div', { className: 'jp-nbdeploy-error' }, 'This nbdeploy inspection output could not be read.')];
  }
  const f = payload.feature;
  return [
    header(payload),
    h(
      'p',
      { className: 'jp-nbdeploy-detail' },
      `${payload.rows} captured rows (${payload.requests} requests) served by version ${payload.version} from ${formatTime(payload.from)} to ${formatTime(payload.to)}`,
      payload.picked ? ` — the most drifted of ${payload.tested} features tested (${payload.drifted} drifted).` : '.'
    ),
    ...notes(payload),
    payload.chart ? chartHost : null,
    moved(f),
    integrity(payload),
    together(payload)
  ].filter((node): node is HTMLElement => node !== null);
}

function verdictOf(test: IInspectTest | null): { word: string; mod: string } {
  if (!test) return { word: 'not tested', mod: 'na' };
  return test.drifted ? { word: 'drifted', mod: 'fail' } : { word: 'no drift', mod: 'pass' };
}

function header(payload: IInspect): HTMLElement {
  const f = payload.feature;
  const verdict = verdictOf(f.test);
  return h(
    'header',
    { className: `jp-nbdeploy-header jp-mod-${verdict.mod}` },
    h('span', { className: 'jp-nbdeploy-title' }, 'Inspect ', h('code', {}, f.name), ' of ', h('code', {}, payload.model)),
    h('span', { className: `jp-nbdeploy-verdict jp-mod-${verdict.mod}`, dataset: { verdict: verdict.word } }, `${verdict.mod === 'fail' ? '⚠' : verdict.mod === 'pass' ? '✓' : '–'} ${verdict.word}`),
    h('span', { className: 'jp-nbdeploy-facts' }, testFacts(f.test))
  );
}

/** "Kolmogorov–Smirnov 0.4120, p 1.2e-20 (drifts at p ≤ 0.05)" */
function testFacts(test: IInspectTest | null): string {
  if (!test) return '';
  const name = METHOD_NAMES[test.method] ?? test.method;
  const statistic = test.statistic === null ? '∞' : formatNumber(test.statistic);
  if (test.p_value === null) return `${name} ${statistic} (drifts at ≥ ${test.threshold})`;
  return `${name} ${statistic}, p ${formatPValue(test.p_value)} (drifts at p ${test.method === 'ks' ? '≤' : '<'} ${test.threshold})`;
}

function notes(payload: IInspect): HTMLElement[] {
  const f = payload.feature;
  const out: string[] = [];
  if (f.note) out.push(f.note);
  if (f.personal && f.kind === 'categorical') out.push('Personal data: categories are shown as salted hashes, training and captured alike.');
  if (payload.truncated) out.push('More rows were captured in the span than the limit: the oldest were read.');
  if (f.nulls.captured !== null && f.nulls.captured > 0) {
    out.push(`${formatShare(f.nulls.captured)} of the captured rows miss it (training: ${f.nulls.training === null ? 'unknown' : formatShare(f.nulls.training)}).`);
  }
  return out.map(text => h('p', { className: 'jp-nbdeploy-detail jp-nbdeploy-note' }, text));
}

function moved(f: IInspectFeature): HTMLElement | null {
  if (f.quantiles?.length) {
    const rows = f.quantiles.slice(0, SHOWN_QUANTILES).map(q => [
      textCell(quantileName(q.q)),
      formatNumber(q.training),
      formatNumber(q.captured),
      `${q.shift >= 0 ? '+' : ''}${formatNumber(q.shift)}`,
      q.shift_sd === null ? '—' : `${q.shift_sd >= 0 ? '+' : ''}${formatNumber(q.shift_sd, 2)} sd`
    ]);
    const outside = f.histogram && f.histogram.below + f.histogram.above > 0 ? ` · ${formatShare(f.histogram.below)} below and ${formatShare(f.histogram.above)} above the training range` : '';
    return section(`Quantiles that moved most${outside}`, table([textHeader('quantile'), 'training', 'captured', 'shift', 'in sd'], rows, 'jp-nbdeploy-moved'));
  }
  if (f.categories?.length) {
    const rows = f.categories.slice(0, SHOWN_CATEGORIES).map(c => [
      textCell(h('code', {}, c.category)),
      formatShare(c.training),
      formatShare(c.captured),
      `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)} pts`
    ]);
    const fresh = f.new_categories ? ` · ${f.new_categories} not seen in training` : '';
    return section(`Categories that moved most${fresh}`, table([textHeader('category'), 'training', 'captured', 'change'], rows, 'jp-nbdeploy-moved'));
  }
  return null;
}

function integrity(payload: IInspect): HTMLElement {
  const events = payload.integrity?.features ?? [];
  if (events.length === 0) {
    return section('Integrity events', h('p', { className: 'jp-nbdeploy-detail' }, 'None in this span.'));
  }
  const rows = events.slice(0, SHOWN_FEATURES).map(e => [
    textCell(e.feature),
    textCell(Object.entries(e.counts).map(([kind, n]) => `${kind.replace(/_/g, ' ')} ${n}`).join(', ')),
    h('td', { className: 'jp-nbdeploy-text jp-nbdeploy-detail' }, e.detail ?? '')
  ]);
  return section('Integrity events', table([textHeader('input or feature'), textHeader('values'), textHeader('latest')], rows, 'jp-nbdeploy-integrityEvents'));
}

function together(payload: IInspect): HTMLElement | null {
  const others = payload.moved_together ?? [];
  if (others.length === 0) return null;
  const rows = others.slice(0, SHOWN_FEATURES).map(m => ({
    className: m.drifted ? 'jp-mod-fail' : undefined,
    cells: [
      textCell(m.feature),
      textCell(METHOD_NAMES[m.method] ?? m.method),
      m.statistic === null ? '∞' : formatNumber(m.statistic),
      m.p_value === null ? '—' : formatPValue(m.p_value),
      textCell(m.drifted ? '⚠ drifted' : '✓ no drift')
    ]
  }));
  return section('Moved together (the other features on the same rows)', table([textHeader('feature'), textHeader('test'), 'statistic', 'p-value', textHeader('verdict')], rows, 'jp-nbdeploy-together'));
}

/** Renders inspections; safe: payload text only becomes text nodes, and the chart loads nothing. */
export const inspectRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [INSPECT_MIME_TYPE],
  defaultRank: RENDERER_RANK,
  createRenderer: options => new RenderedInspect(options)
};

/** A quantile level as readers name it: min, p5, median, p95, max. */
function quantileName(q: number): string {
  return q === 0 ? 'min' : q === 1 ? 'max' : q === 0.5 ? 'median' : `p${Number((q * 100).toPrecision(3))}`;
}
