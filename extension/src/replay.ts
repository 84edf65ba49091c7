/**
 * The replay renderer (`application/vnd.nbdeploy.replay+json`): what a candidate version
 * would have answered on the traffic a deployment captured — agreement with what was served,
 * where the answers changed (by feature range or category), metrics of both answers where
 * ground truth arrived, latency side by side, and a few changed rows — from the payload alone.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { formatNumber, formatShare, formatTime, h, section, table, textCell, textHeader } from './dom.js';
import { RENDERER_RANK, REPLAY_MIME_TYPE } from './mime.js';
import type { IReplay, IReplayFeature } from './payloads.js';

/** Features shown under "Where the answers changed": those whose ranges differ most. */
const SHOWN_FEATURES = 3;

export class RenderedReplay extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-nbdeploy-Replay');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.node.replaceChildren(...renderReplay(model.data[this._mimeType] as unknown as IReplay));
  }

  private _mimeType: string;
}

export function renderReplay(replay: IReplay): HTMLElement[] {
  if (!replay || typeof replay !== 'object' || typeof replay.model !== 'string') {
    return [h('div', { className: 'jp-nbdeploy-error' }, 'This nbdeploy replay output could not be read.')];
  }
  const agreement = replay.agreement === null ? 'no rows replayed' : `${formatShare(replay.agreement)} agreement`;
  return [
    h(
      'header',
      { className: 'jp-nbdeploy-header' },
      h('span', { className: 'jp-nbdeploy-title' }, 'Replay of ', h('code', {}, replay.model), ` version ${replay.version} on captured traffic`),
      h('span', { className: 'jp-nbdeploy-facts' }, `${agreement} · ${replay.changed} of ${replay.rows} rows changed`)
    ),
    h(
      'p',
      { className: 'jp-nbdeploy-detail' },
      `${replay.source === 'shadow' ? 'Its answers as a shadow' : 'The captured requests run again'} from ${formatTime(replay.from)} to ${formatTime(replay.to)}: `,
      `${replay.requests} requests served by ${replay.served_versions.map(v => `v${v}`).join(', ') || 'no version'}.`
    ),
    ...notes(replay),
    metrics(replay),
    latency(replay),
    changedByFeature(replay.by_feature ?? [], replay.changed),
    changedRows(replay)
  ].filter((node): node is HTMLElement => node !== null);
}

function notes(replay: IReplay): HTMLElement[] {
  const s = replay.skipped;
  const out: string[] = [];
  if (s?.personal_data) out.push(`${s.personal_data} request(s) not replayed: their personal data was kept only as hashes.`);
  if (s?.failed) out.push(`${s.failed} request(s) failed on the candidate (first: ${s.first_error ?? 'unknown'}).`);
  if (s?.no_answer) out.push(`${s.no_answer} request(s) without a shadow answer.`);
  if (replay.truncated) out.push('More rows were captured in the span than the limit: the oldest were replayed.');
  return out.map(text => h('p', { className: 'jp-nbdeploy-detail jp-nbdeploy-note' }, text));
}

function metrics(replay: IReplay): HTMLElement {
  const m = replay.metrics;
  if (!m) {
    return section('Metrics', h('p', { className: 'jp-nbdeploy-detail' }, 'No ground truth has arrived for these requests yet (nd.feedback).'));
  }
  const rows = Object.keys(m.served).map(name => [
    textCell(name),
    formatNumber(m.served[name]),
    formatNumber(m.candidate[name]),
    `${m.delta[name]! >= 0 ? '+' : ''}${formatNumber(m.delta[name])}`
  ]);
  return section(`Metrics on ${m.rows} labelled rows`, table([textHeader('metric'), 'served', 'candidate', 'Δ'], rows));
}

function latency(replay: IReplay): HTMLElement | null {
  const { served, candidate } = replay.latency_ms ?? {};
  if (!served || !candidate) return null;
  const rows = (['p50', 'p95', 'p99'] as const).map(p => [textCell(p), formatNumber(served[p], 2), formatNumber(candidate[p], 2)]);
  return section('Latency (ms)', table([textHeader(''), 'served', 'candidate'], rows));
}

function changedByFeature(features: IReplayFeature[], changed: number): HTMLElement | null {
  if (changed === 0 || features.length === 0) return null;
  const shown = features.slice(0, SHOWN_FEATURES);
  // Bars to the largest share shown, so that where changes gather stands out even when few rows changed.
  const largest = Math.max(...shown.flatMap(f => f.bins.map(b => b.changed_share)), Number.MIN_VALUE);
  return section(
    'Where the answers changed',
    ...shown.map(f =>
      h(
        'div',
        { className: 'jp-nbdeploy-replayFeature' },
        h('div', { className: 'jp-nbdeploy-label' }, f.feature),
        table(
          [textHeader(f.kind === 'numeric' ? 'range' : 'category'), 'rows', 'changed', 'share', ''],
          f.bins.map(b => {
            const bar = h('span', { className: 'jp-nbdeploy-bar jp-mod-canary' });
            bar.style.width = `${Math.round((b.changed_share / largest) * 100)}%`;
            bar.title = `${formatShare(b.changed_share)} of these rows changed`;
            return [textCell(b.bin), String(b.rows), String(b.changed), formatShare(b.changed_share), h('td', { className: 'jp-nbdeploy-barCell' }, h('span', { className: 'jp-nbdeploy-track' }, bar))];
          })
        )
      )
    )
  );
}

function changedRows(replay: IReplay): HTMLElement | null {
  const sample = replay.changed_rows;
  if (!sample || sample.rows.length === 0) return null;
  const at = sample.columns.indexOf('at');
  return section(
    `Changed rows (first ${sample.rows.length})`,
    table(
      sample.columns.map(c => textHeader(c)),
      sample.rows.map(row =>
        row.map((v, i) => {
          if (i === at && typeof v === 'string') {
            const cell = textCell(formatTime(v));
            cell.classList.add('jp-nbdeploy-nowrap');
            return cell;
          }
          // Seven significant digits: what the sender's numbers hold (no 12.975200000000001).
          return textCell(v === null ? '—' : typeof v === 'number' ? String(Number(v.toPrecision(7))) : String(v));
        })
      )
    )
  );
}

/** Renders replays; safe: payload text only becomes text nodes. */
export const replayRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [REPLAY_MIME_TYPE],
  defaultRank: RENDERER_RANK,
  createRenderer: options => new RenderedReplay(options)
};
