import http, { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, request } from '../support/http.js';
import { fixture, fp32, twoInputModel } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { encodeTensor } from '../support/tensors.js';

const MAX_REQUEST_BYTES = 64 * 1024;
const ROW = [5.1, 3.5, 1.4, 0.2];

let service: ServiceProcess;
let rest: RestClient;

beforeAll(async () => {
  service = await startService({ args: ['--max-request-bytes', String(MAX_REQUEST_BYTES)] });
  rest = new RestClient(service);
  await rest.register('iris', { 'model.onnx': fixture('iris_classifier.onnx') });
  await rest.register('add', { 'model.onnx': twoInputModel() });
});

afterAll(cleanup);

/** Expects a 400 with the given code and returns its message. */
async function badRequest(body: unknown, code: string, model = 'iris'): Promise<string> {
  const res = await rest.post(`/v2/models/${model}/infer`, body);
  expect(res.status, res.text).toBe(400);
  const error = res.json();
  expect(error.code, res.text).toBe(code);
  expect(typeof error.error).toBe('string');
  return error.error as string;
}

describe('HTTP request bodies', () => {
  it('should answer malformed JSON with 400 NBD_ERR_BAD_JSON', async () => {
    for (const body of ['{"inputs": [', 'not json at all', '{"inputs": [{"name": "input",}]}']) {
      const message = await badRequest(body, 'NBD_ERR_BAD_JSON');
      expect(message).toMatch(/not valid JSON/);
    }
  });

  it('should name the offending field of a schema error', async () => {
    expect(await badRequest({}, 'NBD_ERR_BAD_REQUEST')).toMatch(/\binputs\b/);
    expect(await badRequest({ inputs: [] }, 'NBD_ERR_BAD_REQUEST')).toMatch(/\binputs\b/);
    expect(await badRequest({ inputs: [{ ...fp32('input', [ROW]), datatype: 'FP99' }] }, 'NBD_ERR_BAD_REQUEST')).toMatch(/inputs\[0\]\.datatype/);
    expect(await badRequest({ inputs: [{ ...fp32('input', [ROW]), shape: [1, -4] }] }, 'NBD_ERR_BAD_REQUEST')).toMatch(/inputs\[0\]\.shape\[1\]/);
    expect(await badRequest({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }] }, 'NBD_ERR_BAD_REQUEST')).toMatch(/inputs\[0\]\.data/);
    expect(await badRequest({ inputs: [fp32('input', [ROW])], colour: 'blue' }, 'NBD_ERR_BAD_REQUEST')).toMatch(/colour/);
    expect(await badRequest({ inputs: [fp32('input', [ROW])], id: 42 }, 'NBD_ERR_BAD_REQUEST')).toMatch(/\bid\b/);
  });

  it('should name an unexpected input and say which inputs the model takes', async () => {
    // The unexpected input is dropped (served), the missing one refused: both by the default integrity policy.
    const message = await badRequest({ inputs: [fp32('features', [ROW])] }, 'NBD_ERR_INTEGRITY_REFUSED');
    expect(message).toContain('"features"');
    expect(message).toContain('"input" (FP32 [N, 4])');
  });

  it('should name a missing input and say what it expects', async () => {
    const message = await badRequest({ inputs: [fp32('a', [[1, 2]])] }, 'NBD_ERR_INTEGRITY_REFUSED', 'add');
    expect(message).toContain('(missing_feature)');
    expect(message).toContain('missing input "b"');
    expect(message).toContain('FP32 [N, 2]');
  });

  it('should name an input given twice', async () => {
    const message = await badRequest({ inputs: [fp32('a', [[1, 2]]), fp32('a', [[1, 2]])] }, 'NBD_ERR_INPUT_DATA', 'add');
    expect(message).toContain('"a"');
    expect(message).toMatch(/twice/);
  });

  it('should name an input with the wrong datatype and say which one it expects', async () => {
    // Values that have no reading in the model's datatype are refused whatever the integrity policy…
    const bools = { name: 'input', datatype: 'BOOL', shape: [1, 4], data: [true, false, true, true] };
    const message = await badRequest({ inputs: [bools] }, 'NBD_ERR_INPUT_DATATYPE');
    expect(message).toBe('input "input" has datatype BOOL; model "iris" expects FP32');
    // …values that have one are coerced and served (type_mismatch, counted; see integrity.test.ts).
    const res = await rest.infer('iris', [{ ...fp32('input', [ROW]), datatype: 'FP64' }]);
    expect(res.status, res.text).toBe(200);
  });

  it('should name an input with the wrong shape and say which one it expects', async () => {
    const twoByThree = { name: 'input', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    expect(await badRequest({ inputs: [twoByThree] }, 'NBD_ERR_INPUT_SHAPE')).toBe('input "input" has shape [2, 3]; model "iris" expects [N, 4]');
    const rank3 = { name: 'input', datatype: 'FP32', shape: [1, 1, 4], data: ROW };
    expect(await badRequest({ inputs: [rank3] }, 'NBD_ERR_INPUT_SHAPE')).toContain('expects [N, 4]');
  });

  it('should name an input whose elements do not fit its datatype or shape', async () => {
    const notNumber = await badRequest({ inputs: [{ ...fp32('input', [ROW]), data: [5.1, 'abc', 1.4, 0.2] }] }, 'NBD_ERR_INPUT_DATA');
    expect(notNumber).toMatch(/^input "input": element 1 is "abc"; FP32 needs a number/);
    const tooFew = await badRequest({ inputs: [{ ...fp32('input', [ROW]), data: [1, 2, 3] }] }, 'NBD_ERR_INPUT_DATA');
    expect(tooFew).toMatch(/input "input": shape \[1, 4\] holds 4 elements but data has 3/);
    await rest.register('int8', { 'model.onnx': fixture('identity_int8.onnx') });
    const int8 = (data: unknown[]) => ({ inputs: [{ name: 'x', datatype: 'INT8', shape: [1, 3], data }] });
    expect(await badRequest(int8([1, 128, 0]), 'NBD_ERR_INPUT_DATA', 'int8')).toMatch(/input "x": element 1 is 128; INT8 needs an integer in the INT8 range/);
    expect(await badRequest(int8([1.5, 0, 0]), 'NBD_ERR_INPUT_DATA', 'int8')).toMatch(/input "x": element 0 is 1.5/);
    await rest.register('bool', { 'model.onnx': fixture('identity_bool.onnx') });
    const bool = { inputs: [{ name: 'x', datatype: 'BOOL', shape: [1, 3], data: [true, 1, false] }] };
    expect(await badRequest(bool, 'NBD_ERR_INPUT_DATA', 'bool')).toMatch(/input "x": element 1 is 1; BOOL needs true or false/);
    await rest.register('int64', { 'model.onnx': fixture('identity_int64.onnx') });
    const int64 = { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 3], data: ['1', '9223372036854775808', '0'] }] };
    expect(await badRequest(int64, 'NBD_ERR_INPUT_DATA', 'int64')).toMatch(/element 1 is "9223372036854775808"; INT64 needs an integer/);
  });

  it('should name a requested output that does not exist', async () => {
    const res = await rest.infer('iris', [fp32('input', [ROW])], undefined, { outputs: [{ name: 'colour' }] });
    expect(res.status).toBe(400);
    expect(res.json().code).toBe('NBD_ERR_OUTPUT_NOT_FOUND');
    expect(res.json().error).toContain('"colour"');
  });

  it('should answer an unknown model with 404 NBD_ERR_MODEL_NOT_FOUND', async () => {
    const res = await rest.infer('nothing-here', [fp32('input', [ROW])]);
    expect(res.status).toBe(404);
    expect(res.json().code).toBe('NBD_ERR_MODEL_NOT_FOUND');
  });

  it('should keep serving after bad requests', async () => {
    const res = await rest.infer('iris', [fp32('input', [ROW])]);
    expect(res.status, res.text).toBe(200);
  });
});

describe('request size limit (--max-request-bytes)', () => {
  /** A valid infer body a little over the limit. */
  const oversized = (): string => {
    const rows = Math.ceil(MAX_REQUEST_BYTES / 16) + 100;
    return JSON.stringify({ inputs: [fp32('input', Array.from({ length: rows }, () => [1.25, 2.5, 3.75, 4.5]))] });
  };

  it('should answer a body over the limit announced by Content-Length with 413', async () => {
    const body = oversized();
    expect(body.length).toBeGreaterThan(MAX_REQUEST_BYTES);
    const res = await request(service.url, '/v2/models/iris/infer', { token: service.token, body });
    expect(res.status).toBe(413);
    expect(res.json().code).toBe('NBD_ERR_BODY_TOO_LARGE');
    expect(res.json().error).toContain(String(MAX_REQUEST_BYTES));
  });

  it('should answer a chunked body that grows over the limit with 413', async () => {
    const res = await request(service.url, '/v2/models/iris/infer', { token: service.token, body: oversized(), chunked: true });
    expect(res.status).toBe(413);
    expect(res.json().code).toBe('NBD_ERR_BODY_TOO_LARGE');
  });

  it.each([
    ['with Content-Length', false],
    ['chunked', true]
  ])('should answer a body far over the limit (%s) with 413, not a broken connection, and keep the connection usable', async (_how, chunked) => {
    // 256 times the limit: the client is still sending when the 413 is written.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await upload(Buffer.alloc(MAX_REQUEST_BYTES * 256, ' '), chunked, agent);
      expect(refused.error).toBeNull();
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.text).code).toBe('NBD_ERR_BODY_TOO_LARGE');
      // The rest of the body was read as body, never as the next request, on the same connection.
      const next = await upload(Buffer.from(JSON.stringify({ inputs: [fp32('input', [ROW])] })), false, agent);
      expect(next).toMatchObject({ error: null, status: 200, reusedSocket: true });
    } finally {
      agent.destroy();
    }
  });

  it('should refuse an oversized repository load the same way', async () => {
    const res = await rest.load('big', { 'model.onnx': Buffer.alloc(MAX_REQUEST_BYTES) });
    expect(res.status).toBe(413);
    expect(res.json().code).toBe('NBD_ERR_BODY_TOO_LARGE');
    expect(await rest.index()).not.toContainEqual(expect.objectContaining({ name: 'big' }));
  });

  it('should accept a body just under the limit', async () => {
    const rows = Math.floor(MAX_REQUEST_BYTES / 40);
    const body = JSON.stringify({ inputs: [fp32('input', Array.from({ length: rows }, () => [1, 2, 3, 4]))] });
    expect(body.length).toBeLessThan(MAX_REQUEST_BYTES);
    const res = await request(service.url, '/v2/models/iris/infer', { token: service.token, body, chunked: true });
    expect(res.status, res.text).toBe(200);
    expect(res.json().outputs[0].shape).toEqual([rows]);
  });
});

describe('WebSocket frames', () => {
  let ws: NotebookClient;

  beforeAll(async () => {
    ws = await NotebookClient.connect(service);
  });

  afterAll(async () => {
    await ws?.close();
  });

  /** The connection still answers a valid request. */
  async function stillWorks(): Promise<void> {
    const reply = await ws.request({ type: 'list' });
    expect(reply.type).toBe('models');
    expect(reply.models.map((m: { name: string }) => m.name)).toContain('iris');
    expect(ws.closed).toBeNull();
  }

  it('should answer a text frame that is not JSON with an error and keep the connection', async () => {
    ws.sendRaw('this is not json {');
    const error = await ws.nextUnsolicited((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', id: null, code: 'NBD_ERR_BAD_FRAME', status: 400 });
    expect(error.error).toMatch(/not JSON/);
    await stillWorks();
  });

  it('should answer an unknown message type with an error naming the field and keep the connection', async () => {
    const reply = await ws.request({ type: 'frobnicate', model: 'iris' });
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(reply.error).toMatch(/type/);
    await stillWorks();
  });

  it('should answer a known message with bad fields with an error naming the field', async () => {
    const reply = await ws.request({ type: 'deploy', model: 'iris', version: 'one' });
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(reply.error).toMatch(/version/);
    await stillWorks();
  });

  it('should answer a binary frame whose header length runs past the frame and keep the connection', async () => {
    const frame = Buffer.alloc(20);
    frame.writeUInt32LE(10_000, 0);
    ws.sendRaw(frame);
    const error = await ws.nextUnsolicited((m) => m.type === 'error');
    expect(error).toMatchObject({ id: null, code: 'NBD_ERR_BAD_FRAME' });
    expect(error.error).toMatch(/header length 10000/);
    await stillWorks();
  });

  it('should answer a binary frame too short for its header length and keep the connection', async () => {
    ws.sendRaw(Buffer.from([1, 2]));
    const error = await ws.nextUnsolicited((m) => m.type === 'error');
    expect(error).toMatchObject({ id: null, code: 'NBD_ERR_BAD_FRAME' });
    await stillWorks();
  });

  it('should answer a binary frame whose header is not JSON and keep the connection', async () => {
    const header = Buffer.from('{not json', 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length, 0);
    ws.sendRaw(Buffer.concat([length, header, Buffer.alloc(8)]));
    const error = await ws.nextUnsolicited((m) => m.type === 'error');
    expect(error).toMatchObject({ id: null, code: 'NBD_ERR_BAD_FRAME' });
    expect(error.error).toMatch(/header is not JSON/);
    await stillWorks();
  });

  it('should answer a binary tensor payload shorter than its shape and keep the connection', async () => {
    const reply = await ws.requestBinary(
      { type: 'infer', model: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }] },
      [encodeTensor('FP32', ROW)]
    );
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_INPUT_DATA', status: 400 });
    expect(reply.error).toMatch(/input "input": binary payload ends before the 8 elements of shape \[2, 4\]/);
    await stillWorks();
  });

  it('should answer a binary tensor payload with bytes left over and keep the connection', async () => {
    const reply = await ws.requestBinary(
      { type: 'infer', model: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }] },
      [encodeTensor('FP32', ROW), Buffer.alloc(3)]
    );
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(reply.error).toMatch(/3 bytes past the tensors/);
    await stillWorks();
  });

  it('should answer a BYTES payload whose string length runs past the frame and keep the connection', async () => {
    await rest.register('bytes', { 'model.onnx': fixture('identity_bytes.onnx') });
    const payload = Buffer.alloc(8);
    payload.writeUInt32LE(1_000_000, 0);
    const reply = await ws.requestBinary({ type: 'infer', model: 'bytes', inputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 3] }] }, [payload]);
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_INPUT_DATA' });
    expect(reply.error).toContain('input "x"');
    await stillWorks();
  });

  it('should answer a binary frame that is neither register nor infer and keep the connection', async () => {
    const reply = await ws.requestBinary({ type: 'list' }, []);
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    const empty = await ws.requestBinary({ type: 'register', model: 'empty' }, []);
    expect(empty).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(empty.error).toMatch(/empty/);
    await stillWorks();
  });

  it('should answer wrong inputs over WebSocket with the same errors as HTTP', async () => {
    const wrongName = await ws.request({ type: 'infer', model: 'iris', inputs: [fp32('features', [ROW])] });
    expect(wrongName).toMatchObject({ type: 'error', code: 'NBD_ERR_INTEGRITY_REFUSED', status: 400 });
    expect(wrongName.error).toContain('"features" was sent instead');
    const wrongShape = await ws.request({ type: 'infer', model: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: ROW }] });
    expect(wrongShape).toMatchObject({ type: 'error', code: 'NBD_ERR_INPUT_SHAPE' });
    expect(wrongShape.error).toBe('input "input" has shape [2, 2]; model "iris" expects [N, 4]');
    await stillWorks();
  });

  it('should register a corrupt model with an error reply and keep the connection', async () => {
    const reply = await ws.requestBinary({ type: 'register', model: 'corrupt' }, [fixture('corrupt.onnx')]);
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_MODEL_INVALID', status: 422 });
    await stillWorks();
  });
});

/**
 * An infer request whose body is written as fast as the connection takes it, recording any
 * error on the request, even one after the response (an EPIPE while the body is still going out).
 */
function upload(body: Buffer, chunked: boolean, agent: Agent): Promise<{ status: number | null; text: string; error: string | null; reusedSocket: boolean }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(body.length);
    let status: number | null = null;
    let text = '';
    let error: string | null = null;
    const req = http.request(new URL('/v2/models/iris/infer', service.url), { method: 'POST', headers, agent }, (res) => {
      status = res.statusCode!;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
    });
    req.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    req.on('close', () => resolve({ status, text, error, reusedSocket: req.reusedSocket }));
    if (chunked) {
      for (let at = 0; at < body.length; at += 16 * 1024) req.write(body.subarray(at, at + 16 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}
