/**
 * The notebook's connection to the service: the `/ws` protocol (docs/protocol.md) over
 * `ws`. Requests are checked against the protocol's own zod schemas before they leave, so
 * a mistake is reported in the notebook, naming the field; replies are matched to
 * requests by id and checked against the reply schemas; a dropped connection is opened
 * again on the next request. Every request but inference carries where it comes from
 * (`context`: the notebook and the running cell, context.ts) for the service's audit log.
 * Mirrors python-bridge/nbdeploy/client.py.
 */
import WebSocket from 'ws';
import type { z } from 'zod';
import { binaryFrame, BinaryMessage, splitBinaryFrame, TextMessage } from '../protocol/notebook.js';
import type { ConnectionInfo } from './connection.js';
import type { ChangeContext } from './context.js';
import { InputError, NbdeployError, ServiceError, ServiceUnreachableError } from './errors.js';
import { ErrorReply, Welcome } from './replies.js';

/** A register loads and warms the model; a large validation batch takes a while. */
const DEFAULT_TIMEOUT_MS = 120_000;
const OPEN_TIMEOUT_MS = 10_000;

type Outgoing = Record<string, unknown> & { type: string };

interface Pending {
  resolve: (reply: { message: Record<string, unknown>; payload: Buffer | null }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class NotebookClient {
  readonly info: ConnectionInfo;
  welcome: Welcome | null = null;

  /** `context`: where each request comes from, asked afresh for each request. */
  constructor(info: ConnectionInfo, context: (() => ChangeContext) | null = null) {
    this.info = info;
    this._context = context;
  }

  /** Sends one request (a binary frame when there is a payload) and resolves with the reply, checked by `schema`. */
  async request<S extends z.ZodType>(
    message: Outgoing,
    schema: S,
    payload?: readonly Uint8Array[],
    timeoutMs = DEFAULT_TIMEOUT_MS
  ): Promise<{ reply: z.infer<S>; payload: Buffer | null }> {
    const id = this._nextId++;
    const full: Outgoing = { ...message, id };
    if (this._context && full.context === undefined && message.type !== 'infer') {
      const context = this._context();
      if (Object.keys(context).length) full.context = context;
    }
    const check = payload ? BinaryMessage.safeParse(full) : TextMessage.safeParse(full);
    if (!check.success) {
      const issues = check.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
      throw new InputError(`the ${message.type} request is not valid: ${issues}`);
    }
    const frame = payload ? binaryFrame(full, payload) : JSON.stringify(full);
    const socket = await this._socket();
    const answer = new Promise<{ message: Record<string, unknown>; payload: Buffer | null }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ServiceUnreachableError(this.info.url, `no reply to ${message.type} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
    });
    socket.send(frame);
    const { message: reply, payload: replyPayload } = await answer;
    const parsed = schema.safeParse(reply);
    if (!parsed.success) {
      throw new NbdeployError(
        `the service's reply to ${message.type} is not what this client understands ` +
          `(${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); ` +
          'are the service and the notebook API from the same nbdeploy version?'
      );
    }
    return { reply: parsed.data, payload: replyPayload };
  }

  close(): void {
    this._ws?.close();
    this._ws = null;
  }

  private _socket(): Promise<WebSocket> {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) return Promise.resolve(this._ws);
    if (!this._opening) {
      this._opening = this._open().finally(() => {
        this._opening = null;
      });
    }
    return this._opening;
  }

  private _open(): Promise<WebSocket> {
    const headers: Record<string, string> = { 'User-Agent': 'nbdeploy-typescript' };
    if (this.info.token) headers.Authorization = `Bearer ${this.info.token}`;
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.info.wsUrl, { headers, handshakeTimeout: OPEN_TIMEOUT_MS, maxPayload: 0 });
      let welcomed = false;
      ws.on('unexpected-response', (_request, response) => {
        if (response.statusCode === 401) {
          reject(
            new ServiceError(
              'NBD_ERR_UNAUTHORIZED',
              `the service at ${this.info.url} refused the token from ${this.info.tokenSource}; ` +
                'pass nd.connect({ token }) or set NBDEPLOY_TOKEN (`nbdeploy token` prints it)',
              401
            )
          );
        } else {
          reject(new ServiceUnreachableError(this.info.url, `HTTP ${response.statusCode} on ${this.info.wsUrl}`));
        }
        ws.terminate();
      });
      ws.on('error', (error) => {
        if (!welcomed) reject(new ServiceUnreachableError(this.info.url, error.message || String(error)));
      });
      ws.on('close', () => {
        if (this._ws === ws) this._ws = null;
        for (const [id, pending] of this._pending) {
          clearTimeout(pending.timer);
          pending.reject(new ServiceUnreachableError(this.info.url, 'the connection closed before the reply'));
          this._pending.delete(id);
        }
        if (!welcomed) reject(new ServiceUnreachableError(this.info.url, 'the connection closed before the welcome'));
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!welcomed) {
          const welcome = Welcome.safeParse(JSON.parse(data.toString('utf8')));
          if (!welcome.success) {
            reject(new ServiceUnreachableError(this.info.url, 'the server at that URL did not greet as an nbdeploy service'));
            ws.terminate();
            return;
          }
          welcomed = true;
          this.welcome = welcome.data;
          this._ws = ws;
          resolve(ws);
          return;
        }
        this._dispatch(data, isBinary);
      });
    });
  }

  private _dispatch(data: Buffer, isBinary: boolean): void {
    let message: Record<string, unknown>;
    let payload: Buffer | null = null;
    try {
      if (isBinary) {
        const split = splitBinaryFrame(data);
        message = split.header as Record<string, unknown>;
        payload = split.payload;
      } else {
        message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      }
    } catch {
      return; // not a reply this client can match to a request
    }
    if (message.type === 'event') return; // live events are for subscribers (the extension's charts)
    const pending = this._pending.get(message.id as number);
    if (!pending) return;
    this._pending.delete(message.id as number);
    clearTimeout(pending.timer);
    if (message.type === 'error') {
      const error = ErrorReply.safeParse(message);
      pending.reject(
        error.success
          ? new ServiceError(error.data.code, error.data.error, error.data.status ?? null)
          : new ServiceError('NBD_ERR_INTERNAL', JSON.stringify(message))
      );
    } else {
      pending.resolve({ message, payload });
    }
  }

  private readonly _context: (() => ChangeContext) | null;
  private _ws: WebSocket | null = null;
  private _opening: Promise<WebSocket> | null = null;
  private _nextId = 1;
  private _pending = new Map<number, Pending>();
}
