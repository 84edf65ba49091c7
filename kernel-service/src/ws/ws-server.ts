/**
 * The /ws endpoint: upgrades checked for the token and the Origin, a ping/pong heartbeat
 * that drops dead peers, an error listener on every socket, and a bounded message size.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Access } from '../auth.js';
import type { Principal } from '../people/authorize.js';
import { ServiceError, asServiceError } from '../errors.js';
import type { ServiceMetrics } from '../metrics.js';
import { PROTOCOL_VERSION } from '../protocol/notebook.js';
import { VERSION } from '../version.js';
import { Connection, type ConnectionContext } from './connection.js';

export const WS_PATH = '/ws';

interface Session {
  principal: Principal;
  /** The token's principal looked up again (refused once the user is revoked). */
  current: () => Promise<Principal>;
}

export interface NotebookSocketsOptions {
  access: Access;
  metrics: ServiceMetrics;
  maxPayload: number;
  heartbeatMs: number;
  connection: Omit<ConnectionContext, 'principal'>;
  log: (message: string) => void;
}

export class NotebookSockets {
  constructor(private readonly _options: NotebookSocketsOptions) {
    this._wss = new WebSocketServer({ noServer: true, maxPayload: _options.maxPayload, perMessageDeflate: false });
    this._heartbeat = setInterval(() => this._beat(), _options.heartbeatMs);
    this._heartbeat.unref();
  }

  /** Handles an HTTP upgrade; refuses other paths, a bad token (401) and a foreign Origin (403). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    void this._upgrade(req, socket, head);
  }

  /** Stops accepting and closes every connection (after the data plane has drained). */
  close(code = 1001, reason = 'the service is shutting down'): void {
    this._closing = true;
    clearInterval(this._heartbeat);
    for (const ws of this._wss.clients) ws.close(code, reason);
    this._wss.close();
  }

  private async _upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    let session: Session;
    try {
      if (this._closing) throw new ServiceError('NBD_ERR_SHUTTING_DOWN');
      if (path !== WS_PATH) {
        refuse(socket, 404, `no WebSocket endpoint at ${path}; use ${WS_PATH}`);
        return;
      }
      this._options.access.checkOrigin(req);
      session = await this._options.access.session(req);
      // Shutdown may have begun while the token was looked up.
      if (this._closing) throw new ServiceError('NBD_ERR_SHUTTING_DOWN');
    } catch (error) {
      const failure = asServiceError(error);
      refuse(socket, failure.status, failure.message);
      return;
    }
    const accepted = session;
    this._wss.handleUpgrade(req, socket, head, (ws) => this._accept(ws, req, accepted));
  }

  private _accept(ws: WebSocket, req: IncomingMessage, session: Session): void {
    const { user, role } = session.principal;
    this._alive.set(ws, true);
    this._sessions.set(ws, session);
    this._options.metrics.wsConnections.inc();
    ws.on('pong', () => this._alive.set(ws, true));
    ws.on('error', (error) => this._options.log(`WebSocket error from ${req.socket.remoteAddress}: ${error.message}`));
    ws.on('close', () => {
      this._alive.delete(ws);
      this._options.connection.live.unsubscribe(ws);
      this._options.metrics.wsConnections.dec();
    });
    new Connection(ws, { ...this._options.connection, principal: session.current });
    ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, server: { name: 'nbdeploy', version: VERSION }, user, role }));
  }

  private _beat(): void {
    for (const ws of this._wss.clients) {
      if (this._alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this._alive.set(ws, false);
      ws.ping();
      // A revoked user's connection ends here at the latest (its requests are refused at once).
      this._sessions
        .get(ws)
        ?.current()
        .catch((error: unknown) => {
          const failure = asServiceError(error);
          ws.close(failure.closeCode, failure.message.slice(0, 120));
        });
    }
  }

  private readonly _wss: WebSocketServer;
  private readonly _heartbeat: NodeJS.Timeout;
  private readonly _alive = new WeakMap<WebSocket, boolean>();
  private readonly _sessions = new WeakMap<WebSocket, Session>();
  private _closing = false;
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${statusText(status)}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function statusText(status: number): string {
  return ({ 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? 'Error';
}
