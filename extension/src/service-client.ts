/**
 * The extension's connection to the nbdeploy service: one WebSocket to the Jupyter server's
 * `/nbdeploy/ws` proxy (Jupyter's own auth; the proxy adds the service token and the Jupyter
 * user), speaking the notebook protocol of docs/protocol.md. Requests are matched to their
 * replies by id; live events reach subscribers per model. The connection comes back by
 * itself (with back-off) and subscriptions are renewed when it does.
 */

import { URLExt } from '@jupyterlab/coreutils';
import type { ServerConnection } from '@jupyterlab/services';
import { type IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';

/** Where the connection stands: what the Models panel shows. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** Subscribing to this follows every model, those registered later included. */
export const ALL_MODELS = '*';

/** A reply or event frame: `type` plus the fields docs/protocol.md lists for it. */
export interface IServiceMessage {
  type: string;
  id?: string | number;
  [field: string]: unknown;
}

/** `{"type": "event", "model", "kind", "data", "coalesced"?}` after `subscribe`. */
export interface ILiveEvent {
  model: string;
  kind: string;
  data: unknown;
  coalesced?: number;
}

/** An `error` reply: the service's code (docs/errors.md) and message. */
export class ServiceRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | null
  ) {
    super(message);
    this.name = 'ServiceRequestError';
  }
}

export interface IServiceClientOptions {
  /** The WebSocket URL, e.g. `ws://localhost:8888/nbdeploy/ws`. */
  url: string;
  /** How long a request waits for its reply before failing (ms). */
  requestTimeoutMs?: number;
  /** Longest wait between reconnection attempts (ms); attempts start at 500 ms and double. */
  maxReconnectDelayMs?: number;
  /** For tests: the WebSocket class to use. */
  WebSocket?: typeof WebSocket;
}

interface IPending {
  resolve: (reply: IServiceMessage) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The WebSocket URL of the Jupyter server's nbdeploy proxy. */
export function proxyUrl(settings: ServerConnection.ISettings): string {
  const url = URLExt.join(settings.wsUrl, 'nbdeploy', 'ws');
  // Token-authenticated servers need the token in the URL (browsers cannot set headers on
  // WebSockets); cookie-authenticated ones need nothing.
  return settings.token ? `${url}?token=${encodeURIComponent(settings.token)}` : url;
}

export class ServiceClient implements IDisposable {
  constructor(options: IServiceClientOptions) {
    this._url = options.url;
    this._timeoutMs = options.requestTimeoutMs ?? 30_000;
    this._maxDelayMs = options.maxReconnectDelayMs ?? 30_000;
    this._WebSocket = options.WebSocket ?? WebSocket;
    this._open();
  }

  /** Emitted whenever {@link state} changes. */
  get stateChanged(): ISignal<this, ConnectionState> {
    return this._stateChanged;
  }

  /** Every live event, for every subscribed model. */
  get events(): ISignal<this, ILiveEvent> {
    return this._events;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The user the service records for this connection (from its `welcome`). */
  get user(): string | null {
    return this._user;
  }

  /** Why the last connection attempt failed or closed, for the panel to show. */
  get lastError(): string | null {
    return this._lastError;
  }

  get url(): string {
    return this._url;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Connects somewhere else (a settings change); pending requests fail, subscriptions move. */
  setUrl(url: string): void {
    if (url === this._url || this._disposed) {
      return;
    }
    this._url = url;
    this._failPending(new Error('the nbdeploy service URL changed'));
    this._socket?.close(1000, 'nbdeploy: service URL changed');
    this._retryNow();
  }

  /** Tries to connect now rather than after the back-off delay. */
  reconnect(): void {
    if (this._state === 'disconnected' && !this._disposed) {
      this._retryNow();
    }
  }

  /**
   * Sends a request and resolves with its reply; an `error` reply rejects with a
   * {@link ServiceRequestError}. Waits for the connection when it is (re)connecting.
   */
  async request<T extends IServiceMessage = IServiceMessage>(message: Omit<IServiceMessage, 'id'>): Promise<T> {
    if (this._disposed) {
      throw new Error('the nbdeploy service connection is closed');
    }
    await this._connected();
    const id = ++this._lastId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new Error(`the nbdeploy service did not answer "${message.type}" within ${this._timeoutMs / 1000} s`));
      }, this._timeoutMs);
      this._pending.set(id, { resolve: resolve as (reply: IServiceMessage) => void, reject, timer });
      this._socket!.send(JSON.stringify({ ...message, id }));
    });
  }

  /**
   * Calls `handler` with the model's live events until the returned disposable is
   * disposed; `*` ({@link ALL_MODELS}) follows every model, those registered later too. One
   * `subscribe` per model however many handlers; renewed on reconnect.
   */
  subscribe(model: string, handler: (event: ILiveEvent) => void): IDisposable {
    let handlers = this._subscriptions.get(model);
    if (!handlers) {
      this._subscriptions.set(model, (handlers = new Set()));
      if (this._state === 'connected') {
        this._sendSubscribe(model);
      }
    }
    handlers.add(handler);
    let disposed = false;
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (disposed) {
          return;
        }
        disposed = true;
        const set = this._subscriptions.get(model);
        set?.delete(handler);
        if (set && set.size === 0) {
          this._subscriptions.delete(model);
          if (this._state === 'connected') {
            this.request({ type: 'unsubscribe', model }).catch(() => undefined);
          }
        }
      }
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    clearTimeout(this._retryTimer);
    const closed = new Error('the nbdeploy service connection is closed');
    this._failPending(closed);
    for (const waiter of this._waiting.splice(0)) {
      waiter.reject(closed);
    }
    this._socket?.close(1000, 'nbdeploy: closed');
    this._socket = null;
    this._subscriptions.clear();
    this._setState('disconnected');
    Signal.clearData(this);
  }

  // --- internals -------------------------------------------------------------------

  private _open(): void {
    this._setState('connecting');
    let socket: WebSocket;
    try {
      socket = new this._WebSocket(this._url);
    } catch (error) {
      this._lastError = `cannot connect to ${this._url}: ${(error as Error).message}`;
      this._scheduleRetry();
      return;
    }
    this._socket = socket;
    socket.onmessage = event => {
      if (typeof event.data === 'string') {
        this._receive(event.data);
      }
    };
    // A failed connection also closes; the close says what happened.
    socket.onerror = () => undefined;
    socket.onclose = event => {
      if (this._socket !== socket) {
        return;
      }
      this._socket = null;
      this._lastError =
        event.reason ||
        (event.code === 1006
          ? `cannot reach the nbdeploy service at ${this._url.replace(/\?.*$/, '')} (is the nbdeploy server extension enabled?)`
          : `the connection closed (code ${event.code})`);
      this._failPending(new Error(`the nbdeploy service connection closed: ${this._lastError}`));
      if (!this._disposed) {
        this._scheduleRetry();
      }
    };
  }

  private _receive(text: string): void {
    let message: IServiceMessage;
    try {
      message = JSON.parse(text) as IServiceMessage;
    } catch {
      return; // the service only sends JSON text frames to us
    }
    if (message.type === 'welcome') {
      this._user = typeof message.user === 'string' ? message.user : null;
      this._attempt = 0;
      this._lastError = null;
      this._setState('connected');
      for (const waiter of this._waiting.splice(0)) {
        waiter.resolve();
      }
      for (const model of this._subscriptions.keys()) {
        this._sendSubscribe(model);
      }
      return;
    }
    if (message.type === 'event') {
      const event: ILiveEvent = {
        model: String(message.model),
        kind: String(message.kind),
        data: message.data,
        coalesced: typeof message.coalesced === 'number' ? message.coalesced : undefined
      };
      this._events.emit(event);
      for (const handler of [...(this._subscriptions.get(event.model) ?? []), ...(this._subscriptions.get(ALL_MODELS) ?? [])]) {
        handler(event);
      }
      return;
    }
    const pending = message.id === undefined ? undefined : this._pending.get(message.id as number);
    if (!pending) {
      return;
    }
    this._pending.delete(message.id as number);
    clearTimeout(pending.timer);
    if (message.type === 'error') {
      pending.reject(
        new ServiceRequestError(
          String(message.error ?? 'the nbdeploy service refused the request'),
          String(message.code ?? 'NBD_ERR_UNKNOWN'),
          typeof message.status === 'number' ? message.status : null
        )
      );
    } else {
      pending.resolve(message);
    }
  }

  private _sendSubscribe(model: string): void {
    this.request({ type: 'subscribe', model }).catch(() => {
      // An unknown model (deleted, or not registered yet) has nothing to stream.
    });
  }

  private _connected(): Promise<void> {
    if (this._state === 'connected') {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        }
      };
      const timer = setTimeout(() => {
        this._waiting.splice(this._waiting.indexOf(waiter), 1);
        reject(new Error(`not connected to the nbdeploy service: ${this._lastError ?? 'still connecting'}`));
      }, this._timeoutMs);
      this._waiting.push(waiter);
    });
  }

  private _scheduleRetry(): void {
    this._setState('disconnected');
    const delay = Math.min(this._maxDelayMs, 500 * 2 ** this._attempt++);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  private _retryNow(): void {
    clearTimeout(this._retryTimer);
    this._attempt = 0;
    this._open();
  }

  private _failPending(error: Error): void {
    for (const pending of this._pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this._pending.clear();
  }

  private _setState(state: ConnectionState): void {
    if (state !== this._state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _url: string;
  private readonly _timeoutMs: number;
  private readonly _maxDelayMs: number;
  private readonly _WebSocket: typeof WebSocket;
  private _socket: WebSocket | null = null;
  private _state: ConnectionState = 'disconnected';
  private _user: string | null = null;
  private _lastError: string | null = null;
  private _lastId = 0;
  private _attempt = 0;
  private _retryTimer: ReturnType<typeof setTimeout> | undefined;
  private _disposed = false;
  private readonly _pending = new Map<number, IPending>();
  /** Requests made while not connected, waiting for the connection. */
  private readonly _waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private readonly _subscriptions = new Map<string, Set<(event: ILiveEvent) => void>>();
  private readonly _stateChanged = new Signal<this, ConnectionState>(this);
  private readonly _events = new Signal<this, ILiveEvent>(this);
}
