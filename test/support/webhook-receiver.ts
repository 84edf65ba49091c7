/**
 * A webhook receiver for the alert tests: an HTTP server on a loopback port that records every
 * POST (path, status, JSON body, time). `failFiring` > 0 answers 500 to that many posts of a
 * firing alert to `/hook`, so that retries can be tested.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook {
  path: string;
  status: number;
  body: any;
  at: number;
}

export class WebhookReceiver {
  readonly received: Hook[] = [];

  constructor(public failuresLeft = 0) {}

  /** Listens; resolves with the base URL (`http://127.0.0.1:PORT`). */
  async start(): Promise<string> {
    this._server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        let status = 200;
        if (req.url === '/hook' && body.alert?.state === 'firing' && this.failuresLeft > 0) {
          this.failuresLeft--;
          status = 500;
        }
        this.received.push({ path: req.url ?? '', status, body, at: Date.now() });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
      });
    });
    await new Promise<void>((resolve) => this._server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this._server.address() as AddressInfo).port}`;
  }

  /** Resolves once `match` holds for the received posts (polls; at most `timeoutMs`). */
  async waitFor(match: (posts: Hook[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!match(this.received)) {
      if (Date.now() > until) throw new Error(`webhook posts so far: ${JSON.stringify(this.received).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this._server ? this._server.close(() => resolve()) : resolve()));
  }

  private _server: Server | null = null;
}
