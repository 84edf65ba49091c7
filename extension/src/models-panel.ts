/**
 * The Models sidebar: the connection to the service (connected as whom, or why not), the
 * registry's models with their versions, traffic, validation and alerts, and the current
 * notebook's section. It re-lists at the refresh rate while it is visible (live events —
 * the models model follows every model, new ones included — keep it current otherwise),
 * and clears the alert badge when it is shown.
 */

import { Widget } from '@lumino/widgets';

import type { AlertBadge } from './alert-badge.js';
import type { CurrentNotebook } from './current-notebook.js';
import { h } from './dom.js';
import { type ActionHandler, renderModelList } from './model-list.js';
import type { ModelsModel } from './models-model.js';
import { type Execute, renderNotebookSection } from './notebook-section.js';

/** Lumino's message type (from @lumino/messaging, which the extension does not depend on directly). */
type Message = Parameters<Widget['processMessage']>[0];

export interface IModelsPanelOptions {
  models: ModelsModel;
  /** The current notebook's section; absent outside notebooks' JupyterLab (tests). */
  notebook?: CurrentNotebook;
  onAction: ActionHandler;
  execute: Execute;
  /** Seconds between lists while visible (the `refreshSeconds` setting). */
  refreshSeconds?: number;
  /** Called each time the panel comes into view. */
  onShow?: () => void;
}

export class ModelsPanel extends Widget {
  constructor(options: IModelsPanelOptions) {
    super();
    this.id = 'nbdeploy-models';
    this.addClass('jp-nbdeploy-ModelsPanel');
    this._models = options.models;
    this._notebook = options.notebook ?? null;
    this._onAction = options.onAction;
    this._execute = options.execute;
    this._refreshSeconds = options.refreshSeconds ?? 10;
    this._onShow = options.onShow ?? null;
    this._models.changed.connect(this._render, this);
    this._models.client.stateChanged.connect(this._render, this);
    this._notebook?.changed.connect(this._render, this);
    this._render();
  }

  /** The badge this panel clears when shown. */
  set badge(badge: AlertBadge | null) {
    this._badge = badge;
  }

  /** Seconds between lists while visible; 0 stops polling. */
  get refreshSeconds(): number {
    return this._refreshSeconds;
  }

  set refreshSeconds(seconds: number) {
    this._refreshSeconds = seconds;
    if (this.isVisible) {
      this._models.startPolling(seconds);
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._models.stopPolling();
    this._models.changed.disconnect(this._render, this);
    this._models.client.stateChanged.disconnect(this._render, this);
    this._notebook?.changed.disconnect(this._render, this);
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._badge?.clear();
    void this._models.refresh();
    this._models.startPolling(this._refreshSeconds);
    this._onShow?.();
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._models.stopPolling();
  }

  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    const parts = [h('h2', { className: 'jp-nbdeploy-panelTitle' }, 'nbdeploy models'), this._connectionLine(), renderModelList(this._models, this._onAction)];
    if (this._notebook) {
      parts.push(renderNotebookSection(this._notebook, this._execute));
    }
    this.node.replaceChildren(...parts);
  }

  private _connectionLine(): HTMLElement {
    const client = this._models.client;
    const state = client.state;
    const text =
      state === 'connected'
        ? `Connected${client.user ? ` as ${client.user}` : ''}`
        : state === 'connecting'
          ? 'Connecting to the nbdeploy service…'
          : `Reconnecting to the nbdeploy service${client.lastError ? `: ${client.lastError}` : '…'}`;
    const reconnect = h('button', { className: 'jp-nbdeploy-action', title: 'Try to connect now', dataset: { action: 'reconnect' } }, 'Reconnect');
    reconnect.type = 'button';
    reconnect.addEventListener('click', () => client.reconnect());
    const refresh = h('button', { className: 'jp-nbdeploy-action', title: 'List the models again', dataset: { action: 'refresh' } }, '↻');
    refresh.type = 'button';
    refresh.addEventListener('click', () => void this._models.refresh());
    return h(
      'div',
      { className: `jp-nbdeploy-connection jp-mod-${state}`, dataset: { state } },
      h('span', { className: 'jp-nbdeploy-connectionDot' }),
      h('span', { className: 'jp-nbdeploy-connectionText' }, text),
      state === 'disconnected' ? reconnect : state === 'connected' ? refresh : null
    );
  }

  private readonly _models: ModelsModel;
  private readonly _notebook: CurrentNotebook | null;
  private readonly _onAction: ActionHandler;
  private readonly _execute: Execute;
  private _refreshSeconds: number;
  private _badge: AlertBadge | null = null;
  private readonly _onShow: (() => void) | null;
}
