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

import { RENDERER_RANK, VALIDATION_MIME_TYPE } from './mime.js';
import type { IValidationReport } from './payloads.js';
import { validationChartsSpec } from './validation-charts.js';
import { CHARTS_CLASS, REPORT_CLASS, renderReport } from './validation-report.js';
import { VegaView } from './vega-view.js';
import { ReviewBar } from './review-bar.js';
import type { ServiceClient } from './service-client.js';

/** A validation report in a notebook output. */
export class RenderedValidation extends Widget implements IRenderMime.IRenderer {
  /** `client`: the service connection, for the reviewer's bar; null renders the report only. */
  constructor(options: IRenderMime.IRendererOptions, client: ServiceClient | null = null) {
    super();
    this._mimeType = options.mimeType;
    this._client = client;
    this.addClass(REPORT_CLASS);
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
