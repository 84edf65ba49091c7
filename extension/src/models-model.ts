/**
 * What the Models sidebar shows, kept up to date: the registry's models (listed from the
 * service, re-listed on `deployment` events and at the refresh rate while the panel is
 * visible), the connection state, and the recent alerts of each model. Every listed model
 * is subscribed to, so deployment changes and alerts arrive live whether or not the panel
 * is open. The models' histories (the audit log) load when opened (model-history.ts).
 */

import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';

import { ModelHistory } from './model-history.js';
import { type IAlert, type IModel, alertFromEvent } from './registry.js';
import { ALL_MODELS, type ILiveEvent, type ServiceClient } from './service-client.js';

/** How many alerts per model the panel keeps (the newest). */
export const RECENT_ALERTS = 5;

export class ModelsModel implements IDisposable {
  constructor(client: ServiceClient) {
    this._client = client;
    this.history = new ModelHistory(client);
    this.history.changed.connect(() => this._changed.emit(), this);
    client.stateChanged.connect(this._onStateChanged, this);
    if (client.state === 'connected') {
      void this.refresh();
    }
  }

  /** Each model's history, for those opened. */
  readonly history: ModelHistory;

  /** Emitted whenever anything the panel shows changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once per alert when it starts firing. */
  get alertFired(): ISignal<this, IAlert> {
    return this._alertFired;
  }

  get client(): ServiceClient {
    return this._client;
  }

  /** The models, by name; empty until the first list arrives. */
  get models(): readonly IModel[] {
    return this._models;
  }

  /** Whether a list has arrived since the panel was made. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** Why the last refresh failed; null when it worked. */
  get error(): string | null {
    return this._error;
  }

  /** A model's recent alerts, newest first. */
  alerts(model: string): readonly IAlert[] {
    return this._alerts.get(model) ?? [];
  }

  /** Asks the service for the models again (and subscribes to new ones). */
  async refresh(): Promise<void> {
    if (this._disposed) {
      return;
    }
    try {
      const reply = await this._client.request<{ type: 'models'; models: IModel[] }>({ type: 'list' });
      if (this._disposed) {
        return;
      }
      const before = this._signature;
      this._setModels(reply.models);
      const same = this._loaded && this._error === null && before === this._signature;
      this._error = null;
      this._loaded = true;
      if (same) {
        return; // a poll that found nothing new redraws nothing (keeps focus and hover)
      }
    } catch (error) {
      this._error = error instanceof Error ? error.message : String(error);
    }
    this._loaded = true;
    this._changed.emit();
  }

  /** Re-lists every `seconds` until {@link stopPolling} (the panel polls while visible); 0 does not poll. */
  startPolling(seconds: number): void {
    this.stopPolling();
    if (seconds > 0 && !this._disposed) {
      this._pollTimer = setInterval(() => {
        if (this._client.state === 'connected') {
          void this.refresh();
        }
      }, seconds * 1000);
    }
  }

  stopPolling(): void {
    clearInterval(this._pollTimer);
    this._pollTimer = undefined;
  }

  /** Replaces a model with the one a reply brought (actions answer with the new deployment). */
  update(model: IModel): void {
    const index = this._models.findIndex(m => m.name === model.name);
    this._setModels(index < 0 ? [...this._models, model] : this._models.map(m => (m.name === model.name ? model : m)));
    this._changed.emit();
    this.history.modelChanged(model.name);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.stopPolling();
    this._client.stateChanged.disconnect(this._onStateChanged, this);
    this._subscription?.dispose();
    this._subscription = null;
    this.history.dispose();
    Signal.clearData(this);
  }

  private _setModels(models: IModel[]): void {
    this._models = [...models].sort((a, b) => a.name.localeCompare(b.name));
    this._signature = JSON.stringify(this._models);
    // One subscription follows every model, those registered later included.
    this._subscription ??= this._client.subscribe(ALL_MODELS, event => this._onEvent(event));
  }

  private _onEvent(event: ILiveEvent): void {
    if (this._disposed) {
      return;
    }
    if (event.kind === 'deployment') {
      const model = (event.data as { model?: IModel } | null)?.model;
      if (model && typeof model.name === 'string' && Array.isArray(model.versions)) {
        this.update(model);
      } else {
        void this.refresh();
      }
    } else if (event.kind === 'alert') {
      this._onAlert(alertFromEvent(event.model, event.data));
    }
  }

  private _onAlert(alert: IAlert): void {
    const list = (this._alerts.get(alert.model) ?? []).filter(a => !(a.key === alert.key && a.state === alert.state));
    this._alerts.set(alert.model, [alert, ...list].slice(0, RECENT_ALERTS));
    if (alert.state === 'firing' && !this._notified.has(alert.key)) {
      this._notified.add(alert.key);
      this._alertFired.emit(alert);
    }
    this._changed.emit();
  }

  private _onStateChanged(): void {
    if (this._client.state === 'connected') {
      void this.refresh();
    } else {
      this._changed.emit();
    }
  }

  private readonly _client: ServiceClient;
  private _models: IModel[] = [];
  private _loaded = false;
  /** The models as last listed, to tell a poll that changed something from one that did not. */
  private _signature = '';
  private _error: string | null = null;
  private _disposed = false;
  private _pollTimer: ReturnType<typeof setInterval> | undefined;
  private _subscription: IDisposable | null = null;
  private readonly _alerts = new Map<string, IAlert[]>();
  /** Alerts already notified, so a repeated or renewed event does not notify again. */
  private readonly _notified = new Set<string>();
  private readonly _changed = new Signal<this, void>(this);
  private readonly _alertFired = new Signal<this, IAlert>(this);
}
