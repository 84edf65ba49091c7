/**
 * A model's history in the Models sidebar: the service's audit log of that model — who
 * changed what, when, from which notebook and cell — loaded when the history is opened, and
 * again when the model changes while it is open.
 */

import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';

import { formatTime, h } from './dom.js';
import type { ServiceClient } from './service-client.js';

/** How many of a model's latest entries the sidebar shows. */
export const HISTORY_LIMIT = 20;

/** An audit log entry as the service sends it (`audit` in docs/protocol.md). */
export interface IAuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  model: string | null;
  version: number | null;
  notebook: string | null;
  /** The Jupyter cell the change came from (older services do not send it). */
  cell?: string | null;
  details: Record<string, unknown>;
}

export class ModelHistory implements IDisposable {
  constructor(client: ServiceClient) {
    this._client = client;
  }

  /** Emitted when a history opened, closed, loaded or failed to load. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  isOpen(model: string): boolean {
    return this._open.has(model);
  }

  /** A model's entries, newest first; null while the first load is under way. */
  entries(model: string): readonly IAuditEntry[] | null {
    return this._entries.get(model) ?? null;
  }

  /** Why the last load failed; null when it worked. */
  error(model: string): string | null {
    return this._errors.get(model) ?? null;
  }

  /** Opens a model's history (and loads it), or closes it. */
  toggle(model: string): void {
    if (this._open.delete(model)) {
      this._changed.emit();
      return;
    }
    this._open.add(model);
    this._changed.emit();
    void this.load(model);
  }

  /** Loads a model's latest entries from the service. */
  async load(model: string): Promise<void> {
    try {
      const reply = await this._client.request<{ type: 'audit'; entries: IAuditEntry[] }>({ type: 'audit', model, limit: HISTORY_LIMIT });
      this._entries.set(model, reply.entries);
      this._errors.delete(model);
    } catch (error) {
      this._errors.set(model, error instanceof Error ? error.message : String(error));
    }
    if (!this._disposed) {
      this._changed.emit();
    }
  }

  /** A model changed: its open history loads again (the change is its newest entry). */
  modelChanged(model: string): void {
    if (this._open.has(model)) {
      void this.load(model);
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  private readonly _client: ServiceClient;
  private readonly _open = new Set<string>();
  private readonly _entries = new Map<string, IAuditEntry[]>();
  private readonly _errors = new Map<string, string>();
  private _disposed = false;
  private readonly _changed = new Signal<this, void>(this);
}

/** An entry's details on one line: `override: hotfix, from: 2`. */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(', ');
}

/** The open history of a model under its versions: each change as who · when, what, where from. */
export function renderHistory(history: ModelHistory, model: string): HTMLElement {
  const entries = history.entries(model);
  const error = history.error(model);
  const body: HTMLElement[] = [];
  if (error) {
    body.push(h('p', { className: 'jp-nbdeploy-error' }, `Could not load the history: ${error}`));
  }
  if (entries === null) {
    if (!error) {
      body.push(h('p', { className: 'jp-nbdeploy-detail' }, 'Loading the history…'));
    }
  } else if (!entries.length) {
    body.push(h('p', { className: 'jp-nbdeploy-detail' }, 'No changes recorded yet.'));
  } else {
    body.push(h('ol', { className: 'jp-nbdeploy-historyEntries' }, ...entries.map(renderEntry)));
  }
  return h(
    'section',
    { className: 'jp-nbdeploy-history', dataset: { history: model } },
    h('h4', { className: 'jp-nbdeploy-subTitle' }, `History (latest ${HISTORY_LIMIT})`),
    ...body
  );
}

function renderEntry(entry: IAuditEntry): HTMLElement {
  const what = `${entry.action}${entry.version !== null ? ` v${entry.version}` : ''}`;
  const details = detailsText(entry.details);
  const where = [entry.notebook, entry.cell ? `cell ${entry.cell}` : null].filter(Boolean).join(' · ');
  return h(
    'li',
    { className: 'jp-nbdeploy-historyEntry', dataset: { action: entry.action, user: entry.actor } },
    h(
      'div',
      { className: 'jp-nbdeploy-historyLine' },
      h('span', { className: 'jp-nbdeploy-historyAction' }, what),
      h('span', { className: 'jp-nbdeploy-historyWho' }, ` by ${entry.actor}`),
      h('span', { className: 'jp-nbdeploy-detail' }, ` · ${formatTime(entry.at)}`)
    ),
    details ? h('div', { className: 'jp-nbdeploy-historyDetails' }, details) : null,
    where ? h('div', { className: 'jp-nbdeploy-detail jp-nbdeploy-historyWhere', dataset: { notebook: entry.notebook ?? '', cell: entry.cell ?? '' } }, where) : null
  );
}
