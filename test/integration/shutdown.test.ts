import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpResponse, RestClient, request } from '../support/http.js';
import { fixture } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { cleanup, startService } from '../support/service.js';
import { decodeOutputs, encodeTensor } from '../support/tensors.js';

const SLOW = fixture('slow_identity.onnx');
const HTTP_IN_FLIGHT = 24;
const WS_IN_FLIGHT = 6;
/** Rows per request: slow_identity spends a few ms of CPU per row, so these stay in flight. */
const ROWS = 16;

afterEach(cleanup);

/** `rows` rows of 64 floats that tell request `n` apart. */
const rowsOf = (n: number, rows = ROWS): number[] => Array.from({ length: rows * 64 }, (_, j) => n * 10_000 + j);

/**
 * Whether a new connection is refused (the listener is closed). A connection that raced the
 * close may also be reset; one that is served answers 200 (liveness) or 503 (readiness).
 */
async function connectionRefused(url: string): Promise<boolean> {
  try {
    await request(url, '/v2/health/live');
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return true;
    if (code === 'ECONNRESET') return false;
    throw error;
  }
}

describe('graceful shutdown', () => {
  it('should finish every in-flight request on SIGTERM, refuse new connections, and exit 0', async () => {
    const service = await startService();
    const rest = new RestClient(service);
    await rest.register('slow', { 'model.onnx': SLOW });
    const ws = await NotebookClient.connect(service);

    // HTTP requests, each on its own connection, all of them handed to the OS.
    let sent = 0;
    let resolveAllSent!: () => void;
    const allSent = new Promise<void>((resolve) => (resolveAllSent = resolve));
    const http: Array<Promise<HttpResponse | Error>> = Array.from({ length: HTTP_IN_FLIGHT }, (_, n) =>
      request(service.url, '/v2/models/slow/infer', {
        token: service.token,
        body: { id: `http-${n}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 64], data: rowsOf(n) }] },
        onSent: () => {
          if (++sent === HTTP_IN_FLIGHT) resolveAllSent();
        }
      }).catch((error: Error) => error)
    );
    // WebSocket requests on one connection.
    const wsReplies: Array<Promise<Reply | Error>> = Array.from({ length: WS_IN_FLIGHT }, (_, i) =>
      ws
        .requestBinary(
          { type: 'infer', model: 'slow', request_id: `ws-${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 64] }] },
          [encodeTensor('FP32', rowsOf(1000 + i))]
        )
        .catch((error: Error) => error)
    );
    await allSent;
    // "Sent" means the service has them: a round trip after the last byte went out proves that
    // the service read them (the WebSocket handles its frames in order; the HTTP probe comes
    // through the event loop after every request that was already waiting on its sockets).
    expect((await ws.call({ type: 'list' })).type).toBe('models');
    expect((await request(service.url, '/v2/health/live')).status).toBe(200);

    service.signal('SIGTERM');

    // New connections are refused while the in-flight requests finish.
    let refused = false;
    for (let attempt = 0; attempt < 500 && !refused; attempt++) {
      refused = await connectionRefused(service.url);
      if (!refused) await new Promise((r) => setTimeout(r, 5));
    }
    expect(refused).toBe(true);

    const httpResults = await Promise.all(http);
    httpResults.forEach((res, n) => {
      if (res instanceof Error) throw new Error(`in-flight HTTP request ${n} failed: ${res.message}\n${service.log}`);
      expect(res.status, res.text).toBe(200);
      const body = res.json();
      expect(body.id).toBe(`http-${n}`);
      expect(body.outputs[0].data).toEqual(rowsOf(n));
    });
    const wsResults = await Promise.all(wsReplies);
    wsResults.forEach((reply, i) => {
      if (reply instanceof Error) throw new Error(`in-flight WebSocket request ${i} failed: ${reply.message}\n${service.log}`);
      expect(reply.type, JSON.stringify(reply)).toBe('infer_result');
      expect(reply.request_id).toBe(`ws-${i}`);
      expect(decodeOutputs(reply.outputs, reply.payload!).get('y')).toEqual(rowsOf(1000 + i));
    });

    const exit = await service.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(service.log).toMatch(/SIGTERM: finishing in-flight requests/);
    // The WebSocket was closed by the service as "going away".
    await new Promise<void>((resolve) => (ws.closed ? resolve() : ws.socket.once('close', () => resolve())));
    expect(ws.closed!.code).toBe(1001);
    expect(await connectionRefused(service.url)).toBe(true);
  });

  it('should answer a request whose body was still arriving when SIGTERM came', async () => {
    const service = await startService();
    const rest = new RestClient(service);
    await rest.register('slow', { 'model.onnx': SLOW });
    const body = Buffer.from(JSON.stringify({ id: 'late-body', inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 64], data: rowsOf(3) }] }));
    const half = Math.floor(body.length / 2);

    // The headers and half of the body go out; the service starts on the request.
    const req = http.request(`${service.url}/v2/models/slow/infer`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json', 'content-length': String(body.length) }
    });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
    });
    await new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
    expect((await request(service.url, '/v2/health/live')).status).toBe(200);

    service.signal('SIGTERM');
    // Shutdown has begun once the listener is closed; only then does the rest of the body arrive.
    let refused = false;
    for (let attempt = 0; attempt < 500 && !refused; attempt++) {
      refused = await connectionRefused(service.url);
      if (!refused) await new Promise((r) => setTimeout(r, 5));
    }
    expect(refused).toBe(true);
    req.end(body.subarray(half));

    const res = await response;
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ id: 'late-body', outputs: [{ name: 'y', data: rowsOf(3) }] });
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it('should exit 0 on SIGTERM when idle and keep its state for the next start', async () => {
    const service = await startService();
    const rest = new RestClient(service);
    await rest.register('slow', { 'model.onnx': SLOW });
    expect((await service.stop()).code).toBe(0);

    const again = await startService({ stateDir: service.stateDir });
    const after = new RestClient(again);
    expect(await after.index()).toEqual([{ name: 'slow', version: '1', state: 'READY', reason: '', stage: 'staging' }]);
    const res = await after.infer('slow', [{ name: 'x', datatype: 'FP32', shape: [1, 64], data: rowsOf(1, 1) }]);
    expect(res.status, res.text).toBe(200);
  });

  it('should also shut down gracefully on SIGINT', async () => {
    const service = await startService();
    const rest = new RestClient(service);
    await rest.register('slow', { 'model.onnx': SLOW });
    let onSent!: () => void;
    const sent = new Promise<void>((resolve) => (onSent = resolve));
    const inFlight = request(service.url, '/v2/models/slow/infer', {
      token: service.token,
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [ROWS, 64], data: rowsOf(7) }] },
      onSent
    });
    await sent;
    await request(service.url, '/v2/health/live');
    service.signal('SIGINT');
    const res = await inFlight;
    expect(res.status, res.text).toBe(200);
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });
});
