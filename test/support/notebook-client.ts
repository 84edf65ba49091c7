/**
 * A client for the notebook protocol on /ws: JSON text frames, and binary frames
 * (u32 LE header length + JSON header + payload), written from the protocol's
 * description rather than with the service's own encoder.
 */
import WebSocket from 'ws';
import { fp32, irisValidationRows } from './models.js';
import type { ServiceProcess } from './service.js';

export interface Message {
  type: string;
  id?: string | number | null;
  [key: string]: any;
}

/** A reply; binary replies carry their payload. */
export type Reply = Message & { payload?: Buffer };

export interface ConnectOptions {
  /** Defaults to the service's token; null sends none. */
  token?: string | null;
  /** Send the token as `?token=` instead of the Authorization header. */
  tokenInQuery?: boolean;
  origin?: string;
  headers?: Record<string, string>;
  /** Another address of the service's /ws, e.g. through a load balancer (default: the service's own). */
  wsUrl?: string;
}

function socketOptions(service: ServiceProcess, options: ConnectOptions): { url: string; init: WebSocket.ClientOptions } {
  const token = options.token === undefined ? service.token : options.token;
  const headers: Record<string, string> = { ...options.headers };
  let url = options.wsUrl ?? service.wsUrl;
  if (token !== null && options.tokenInQuery) url += `?token=${encodeURIComponent(token)}`;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  const init: WebSocket.ClientOptions = { headers, perMessageDeflate: false };
  if (options.origin !== undefined) init.origin = options.origin;
  return { url, init };
}

/** Builds a binary frame from the protocol's description. */
export function binaryFrame(header: unknown, payload: readonly Uint8Array[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  return Buffer.concat([length, json, ...payload]);
}

/**
 * Tries an upgrade and reports how it went: the HTTP status and body of a refusal, or
 * 101 and the welcome message.
 */
export function tryConnect(service: ServiceProcess, options: ConnectOptions = {}): Promise<{ status: number; body: string; welcome?: Message }> {
  const { url, init } = socketOptions(service, options);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, init);
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') });
        ws.terminate();
      });
    });
    ws.on('message', (data) => {
      resolve({ status: 101, body: '', welcome: JSON.parse(String(data)) });
      ws.close();
    });
    ws.on('error', (error) => reject(error));
  });
}

export class NotebookClient {
  private constructor(
    readonly socket: WebSocket,
    readonly welcome: Message
  ) {
    socket.on('message', (data, isBinary) => this._receive(data as Buffer, isBinary));
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      const error = new Error(`the WebSocket closed (${code} ${reason.toString()})`);
      for (const { reject } of this._pending.values()) reject(error);
      this._pending.clear();
    });
  }

  /** Every frame received that answered no pending request (events, errors with id null). */
  readonly unsolicited: Reply[] = [];
  closed: { code: number; reason: string } | null = null;

  static connect(service: ServiceProcess, options: ConnectOptions = {}): Promise<NotebookClient> {
    const { url, init } = socketOptions(service, options);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, init);
      ws.once('message', (data) => {
        const welcome = JSON.parse(String(data)) as Message;
        if (welcome.type !== 'welcome') reject(new Error(`expected a welcome, got ${String(data)}`));
        else resolve(new NotebookClient(ws, welcome));
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Sends a text request and resolves with the reply that repeats its id (an `error` reply too). */
  request(message: Record<string, unknown>): Promise<Reply> {
    const id = (message.id as string | number | undefined) ?? this._nextId++;
    const reply = this._expect(id);
    this.socket.send(JSON.stringify({ ...message, id }));
    return reply;
  }

  /** Like `request`, but an `error` reply rejects. */
  async call(message: Record<string, unknown>): Promise<Reply> {
    return this._ok(await this.request(message));
  }

  /** Sends a binary request (header + payload) and resolves with its reply. */
  requestBinary(header: Record<string, unknown>, payload: readonly Uint8Array[]): Promise<Reply> {
    const id = (header.id as string | number | undefined) ?? this._nextId++;
    const reply = this._expect(id);
    this.socket.send(binaryFrame({ ...header, id }, payload));
    return reply;
  }

  async callBinary(header: Record<string, unknown>, payload: readonly Uint8Array[]): Promise<Reply> {
    return this._ok(await this.requestBinary(header, payload));
  }

  /** Registers ONNX bytes (a binary `register` frame) and returns the `registered` reply. */
  register(model: string, bytes: Uint8Array, extra: Record<string, unknown> = {}): Promise<Reply> {
    return this.callBinary({ type: 'register', model, ...extra }, [bytes]);
  }

  /**
   * Has the service validate an iris classifier version (registered with IRIS_METADATA) on
   * labelled iris rows: the service computes and stores the report. `extra` goes with the
   * message (e.g. `gates`, `context`).
   */
  validateIris(model: string, version: number, extra: Record<string, unknown> = {}): Promise<Reply> {
    const { rows, labels } = irisValidationRows();
    return this.call({ type: 'validate', model, version, inputs: [fp32('input', rows)], labels, ...extra });
  }

  /**
   * Makes a version production the way a notebook does: a version registered with nbdeploy's
   * metadata (IRIS_METADATA) and not validated yet is validated by the service on iris rows
   * (the production gate asks for a passing report); one registered as plain ONNX, which the service cannot
   * validate, goes with an override reason (the caller's, or a stated default). `extra`
   * goes with both messages (e.g. `context`) and the deploy (e.g. `batching`).
   */
  async promote(model: string, version: number, extra: Record<string, unknown> = {}): Promise<Reply> {
    const context = extra.context === undefined ? {} : { context: extra.context };
    const { model: view } = await this.call({ type: 'get_model', model });
    const record = view.versions.find((v: { version: number }) => v.version === version);
    if (extra.override === undefined && record?.metadata?.nbdeploy?.signature) {
      if (!record.validation?.passed) await this.validateIris(model, version, context);
      return this.call({ type: 'deploy', model, version, ...extra });
    }
    return this.call({ type: 'deploy', model, version, override: 'integration tests: a plain ONNX model has no validation data', ...extra });
  }

  /** Sends a raw frame as is. */
  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** The next unsolicited frame that matches (already received, or within `timeoutMs`). */
  nextUnsolicited(match: (m: Reply) => boolean, timeoutMs = 10_000): Promise<Reply> {
    const index = this.unsolicited.findIndex(match);
    if (index >= 0) return Promise.resolve(this.unsolicited.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      this._waiters.push(waiter);
      setTimeout(() => {
        const at = this._waiters.indexOf(waiter);
        if (at < 0) return;
        this._waiters.splice(at, 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; unsolicited so far: ${JSON.stringify(this.unsolicited).slice(0, 1000)}`));
      }, timeoutMs);
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }

  private _ok(reply: Reply): Reply {
    if (reply.type === 'error') throw new Error(`${reply.code}: ${reply.error}`);
    return reply;
  }

  private _expect(id: string | number): Promise<Reply> {
    return new Promise((resolve, reject) => this._pending.set(id, { resolve, reject }));
  }

  private _receive(data: Buffer, isBinary: boolean): void {
    let message: Reply;
    if (isBinary) {
      const length = data.readUInt32LE(0);
      message = { ...(JSON.parse(data.toString('utf8', 4, 4 + length)) as Message), payload: data.subarray(4 + length) };
    } else {
      message = JSON.parse(data.toString('utf8')) as Message;
    }
    const id = message.id;
    if (id !== undefined && id !== null && this._pending.has(id)) {
      const { resolve } = this._pending.get(id)!;
      this._pending.delete(id);
      resolve(message);
      return;
    }
    const waiter = this._waiters.find((w) => w.match(message));
    if (waiter) {
      this._waiters.splice(this._waiters.indexOf(waiter), 1);
      waiter.resolve(message);
      return;
    }
    this.unsolicited.push(message);
  }

  private _nextId = 1;
  private readonly _pending = new Map<string | number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  private readonly _waiters: Array<{ match: (m: Reply) => boolean; resolve: (m: Reply) => void }> = [];
}
