/**
 * The reviewer's bar under a validation report: Approve / Request changes with a comment,
 * recorded by the service as the Jupyter user, the latest recorded review (who, when), and
 * whether the version may go to production now — and if not, why (the service's
 * production gate: e.g. four eyes waiting for someone else's approval).
 * Shown by the validation renderer only where the service is reachable.
 */

import { formatTime, h } from './dom.js';
import type { IReview } from './payloads.js';
import type { IModel } from './registry.js';
import { ServiceRequestError, type ServiceClient } from './service-client.js';

export class ReviewBar {
  /** `reportId`: the stored report's id when the payload has one (a review applies to the version's latest report). */
  constructor(client: ServiceClient, model: string, version: number, reportId: number | null = null) {
    this._client = client;
    this._model = model;
    this._version = version;
    this._reportId = reportId;
    this._comment.placeholder = 'Comment (what to change, or why it is fine)';
    this._comment.rows = 2;
    this.node = h(
      'section',
      { className: 'jp-nbdeploy-reviewBar', dataset: { model, version: String(version) } },
      h('h4', { className: 'jp-nbdeploy-sectionTitle' }, 'Your review'),
      this._recorded,
      this._gate,
      this._comment,
      h('div', { className: 'jp-nbdeploy-reviewButtons' }, this._button('approve', '✓ Approve'), this._button('request_changes', '✗ Request changes')),
      this._message
    );
    void this._loadLatest();
    void this._loadGate();
  }

  readonly node: HTMLElement;

  /** Sends a decision; shows the recorded review or the service's error. */
  async review(decision: IReview['decision']): Promise<void> {
    this._setBusy(true);
    this._message.textContent = '';
    this._message.className = 'jp-nbdeploy-reviewMessage';
    try {
      const reply = await this._client.request<{ type: string; review: IReview }>({
        type: 'review',
        model: this._model,
        version: this._version,
        decision,
        comment: this._comment.value.trim()
      });
      this._comment.value = '';
      this._showRecorded(reply.review);
      void this._loadGate(); // an approval may open the gate
    } catch (error) {
      const text = error instanceof ServiceRequestError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
      this._message.textContent = `The review was not recorded: ${text}`;
      this._message.classList.add('jp-nbdeploy-error');
    } finally {
      this._setBusy(false);
    }
  }

  private async _loadLatest(): Promise<void> {
    try {
      const reply = await this._client.request<{ type: string; validation: { id: number; reviews: IReview[] } | null }>({
        type: 'get_validation',
        model: this._model,
        version: this._version
      });
      if (reply.validation && this._reportId !== null && reply.validation.id !== this._reportId) {
        this._message.textContent = `A newer validation report of v${this._version} is stored: a review applies to that one.`;
        return;
      }
      const reviews = reply.validation?.reviews ?? [];
      if (reviews.length && !this._recorded.childNodes.length) {
        this._showRecorded(reviews[reviews.length - 1]);
      }
    } catch {
      // The version may not be registered in this service (a notebook from elsewhere): the
      // buttons then say why when pressed.
    }
  }

  /** Shows whether promoting the version to production is held, and why (when the service says). */
  private async _loadGate(): Promise<void> {
    try {
      const reply = await this._client.request<{ type: string; model: IModel }>({ type: 'get_model', model: this._model });
      const version = reply.model.versions.find(v => v.version === this._version);
      const gate = version?.production_gate;
      if (!gate) {
        return;
      }
      const isProduction = reply.model.deployment.production === this._version;
      this._gate.className = `jp-nbdeploy-gate jp-mod-${gate.open || isProduction ? 'open' : 'held'}`;
      this._gate.dataset.gate = gate.open || isProduction ? 'open' : 'held';
      this._gate.textContent = isProduction
        ? `v${this._version} is in production.`
        : gate.open
          ? `v${this._version} may be promoted to production.`
          : `Production held: ${gate.reason ?? 'the service holds it'}`;
    } catch {
      // As for the review: a version this service does not know says nothing here.
    }
  }

  private _showRecorded(review: IReview): void {
    const approved = review.decision === 'approve';
    this._recorded.className = `jp-nbdeploy-review jp-mod-${approved ? 'pass' : 'fail'}`;
    this._recorded.dataset.decision = review.decision;
    this._recorded.replaceChildren(
      h('span', { className: 'jp-nbdeploy-decision' }, approved ? '✓ Approved' : '✗ Changes requested'),
      ` by ${review.by} · ${formatTime(review.at)}`
    );
    if (review.comment) {
      this._recorded.append(h('div', { className: 'jp-nbdeploy-comment' }, review.comment));
    }
  }

  private _button(decision: IReview['decision'], label: string): HTMLButtonElement {
    const button = h('button', { className: `jp-nbdeploy-action ${decision === 'approve' ? 'jp-mod-accept' : 'jp-mod-warn'}`, dataset: { decision } }, label);
    button.type = 'button';
    button.addEventListener('click', () => void this.review(decision));
    this._buttons.push(button);
    return button;
  }

  private _setBusy(busy: boolean): void {
    for (const button of this._buttons) {
      button.disabled = busy;
    }
  }

  private readonly _client: ServiceClient;
  private readonly _model: string;
  private readonly _version: number;
  private readonly _reportId: number | null;
  private readonly _buttons: HTMLButtonElement[] = [];
  private readonly _comment = h('textarea', { className: 'jp-mod-styled jp-nbdeploy-reviewComment' });
  private readonly _recorded = h('div', { className: 'jp-nbdeploy-review' });
  private readonly _gate = h('div', { className: 'jp-nbdeploy-gate' });
  private readonly _message = h('div', { className: 'jp-nbdeploy-reviewMessage' });
}
