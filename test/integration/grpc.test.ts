/**
 * OIP v2 gRPC (`serve --grpc-port`) against a real service, with @grpc/grpc-js as the client:
 * health and metadata, raw and typed contents for every datatype, the token, errors as gRPC
 * statuses, and the same routing, monitoring and metrics as HTTP.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcClient } from '../support/grpc.js';
import { RestClient, metricValue } from '../support/http.js';
import { fixture, fixtureJson, twoInputModel, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { DATATYPES, SAMPLES, modelOf, registerIdentityModels, shapeOf } from '../support/samples.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { type Datatype, type Value, decodeTensor, encodeTensor, sameValues } from '../support/tensors.js';

const IRIS = fixture('iris_classifier.onnx');
const iris = fixtureJson<{ input: number[][]; label: number[]; probabilities: number[][]; atol: number }>('iris_classifier.expected.json');

let service: ServiceProcess;
let rest: RestClient;
let rpc: GrpcClient;

beforeAll(async () => {
  service = await startService({ args: ['--grpc-port', '0'] });
  rest = new RestClient(service);
  rpc = GrpcClient.of(service);
  await registerIdentityModels(rest);
  await rest.register('iris', { 'model.onnx': IRIS });
  await rest.register('add', { 'model.onnx': twoInputModel() });
});

afterAll(async () => {
  rpc?.close();
  await cleanup();
});

/** The typed contents field of each datatype, as the protocol assigns them. */
const FIELD: Record<Datatype, string | null> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents'
};

/** Values as a typed contents field carries them (64-bit integers as decimal strings, BYTES as bytes). */
function typed(datatype: Datatype, values: readonly Value[]): unknown[] {
  if (datatype.endsWith('INT64')) return values.map((v) => String(v));
  if (datatype === 'BYTES') return values.map((v) => Buffer.from(String(v), 'utf8'));
  return [...values];
}

/** A typed contents field read back in the terms `expected` uses. */
function fromTyped(datatype: Datatype, values: unknown[]): Value[] {
  if (datatype.endsWith('INT64')) return values.map((v) => BigInt(v as string));
  if (datatype === 'BYTES') return values.map((v) => (v as Buffer).toString('utf8'));
  return values as Value[];
}

const show = (values: unknown[]): string => JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

describe('health and metadata', () => {
  it('should answer ServerLive and ServerReady without a token, as the HTTP probes do', async () => {
    const anonymous = GrpcClient.of(service, null);
    try {
      expect(await anonymous.call('ServerLive', {})).toEqual({ live: true });
      expect(await anonymous.call('ServerReady', {})).toEqual({ ready: true });
    } finally {
      anonymous.close();
    }
  });

  it('should refuse every other call without the token, or with another, as UNAUTHENTICATED', async () => {
    for (const token of [null, 'not-the-token-at-all']) {
      const client = GrpcClient.of(service, token);
      try {
        for (const [method, request] of [
          ['ServerMetadata', {}],
          ['ModelMetadata', { name: 'iris' }],
          ['ModelReady', { name: 'iris' }],
          ['ModelInfer', { model_name: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] }]
        ] as const) {
          const error = await client.failure(method, request);
          expect(error.code, `${method} with ${token}`).toBe(status.UNAUTHENTICATED);
          expect(error.nbdCode).toBe('NBD_ERR_UNAUTHORIZED');
          expect(error.details).toContain('Bearer');
        }
      } finally {
        client.close();
      }
    }
  });

  it('should describe the server and a model as the REST routes do', async () => {
    const server = await rpc.call('ServerMetadata', {});
    expect(server).toEqual((await rest.get('/v2')).json());
    const model = await rpc.call('ModelMetadata', { name: 'iris' });
    const expected = (await rest.get('/v2/models/iris')).json();
    expect(model).toEqual({
      name: 'iris',
      versions: expected.versions,
      platform: 'onnxruntime_onnx',
      // int64 shapes come back as decimal strings (longs: String)
      inputs: expected.inputs.map((t: any) => ({ ...t, shape: t.shape.map(String) })),
      outputs: expected.outputs.map((t: any) => ({ ...t, shape: t.shape.map(String) }))
    });
    expect(model.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }]);
    expect((await rpc.call('ModelMetadata', { name: 'iris', version: '1' })).versions).toEqual(['1']);
  });

  it('should say whether a model is ready, and NOT_FOUND for one that is not registered', async () => {
    expect(await rpc.call('ModelReady', { name: 'iris' })).toEqual({ ready: true });
    expect(await rpc.call('ModelReady', { name: 'iris', version: '1' })).toEqual({ ready: true });
    const missing = await rpc.failure('ModelReady', { name: 'nope' });
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.nbdCode).toBe('NBD_ERR_MODEL_NOT_FOUND');
    expect(missing.details).toContain('"nope"');
    const version = await rpc.failure('ModelMetadata', { name: 'iris', version: '7' });
    expect(version.code).toBe(status.NOT_FOUND);
    expect(version.nbdCode).toBe('NBD_ERR_VERSION_NOT_FOUND');
  });
});

describe('ModelInfer', () => {
  it.each(DATATYPES)('should round-trip %s exactly in raw_input_contents, answering raw_output_contents', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.binary);
    const response = await rpc.call('ModelInfer', {
      model_name: modelOf(datatype),
      id: `raw-${datatype}`,
      inputs: [{ name: 'x', datatype, shape }],
      raw_input_contents: [encodeTensor(datatype, sample.binary)]
    });
    expect(response).toMatchObject({ model_name: modelOf(datatype), model_version: '1', id: `raw-${datatype}` });
    expect(response.outputs).toEqual([{ name: 'y', datatype, shape: shape.map(String), parameters: {}, contents: null }]);
    expect(response.raw_output_contents).toHaveLength(1);
    const { values, used } = decodeTensor(datatype, shape[0]! * shape[1]!, response.raw_output_contents[0]);
    expect(used).toBe(response.raw_output_contents[0].length);
    expect(sameValues(values, sample.expected), show(values)).toBe(true);
  });

  it.each(DATATYPES.filter((d) => d !== 'FP16'))('should round-trip %s in typed contents, answering typed contents', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.binary);
    const field = FIELD[datatype]!;
    const response = await rpc.call('ModelInfer', {
      model_name: modelOf(datatype),
      inputs: [{ name: 'x', datatype, shape, contents: { [field]: typed(datatype, sample.binary) } }]
    });
    expect(response.raw_output_contents).toEqual([]);
    const [y] = response.outputs;
    expect(y).toMatchObject({ name: 'y', datatype, shape: shape.map(String) });
    const back = fromTyped(datatype, y.contents[field]);
    expect(sameValues(back, sample.expected), show(back)).toBe(true);
    // Only the datatype's own field is filled.
    for (const other of Object.values(FIELD)) if (other && other !== field) expect(y.contents[other]).toEqual([]);
  });

  it('should answer FP16 in raw_output_contents even to a typed request, FP16 having no typed field', async () => {
    const response = await rpc.call('ModelInfer', {
      model_name: 'add',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
        { name: 'b', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [3, 4] } }
      ]
    });
    expect(response.outputs[0].contents.fp32_contents).toEqual([4, 6]);
    const error = await rpc.failure('ModelInfer', { model_name: 'identity_fp16', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain('input "x": FP16 has no typed contents field; send its elements in raw_input_contents');
  });

  it('should classify iris rows as sklearn does, typed and raw', async () => {
    const rows = iris.input;
    const typedResponse = await rpc.call('ModelInfer', {
      model_name: 'iris',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], contents: { fp32_contents: rows.flat() } }],
      outputs: [{ name: 'label' }]
    });
    expect(typedResponse.outputs).toHaveLength(1);
    expect(typedResponse.outputs[0].contents.int64_contents.map(Number)).toEqual(iris.label);
    const rawResponse = await rpc.call('ModelInfer', {
      model_name: 'iris',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4] }],
      raw_input_contents: [encodeTensor('FP32', rows.flat())]
    });
    const byName = new Map<string, Buffer>(rawResponse.outputs.map((o: any, i: number) => [o.name, rawResponse.raw_output_contents[i]]));
    expect(decodeTensor('INT64', rows.length, byName.get('label')!).values).toEqual(iris.label.map(BigInt));
    const probabilities = decodeTensor('FP32', rows.length * 3, byName.get('probabilities')!).values as number[];
    probabilities.forEach((p, i) => expect(Math.abs(p - iris.probabilities.flat()[i]!)).toBeLessThanOrEqual(iris.atol));
  });

  it('should generate a request id when none is given', async () => {
    const response = await rpc.call('ModelInfer', { model_name: 'identity_int8', inputs: [{ name: 'x', datatype: 'INT8', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] });
    expect(response.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('errors as gRPC statuses, naming what was wrong', () => {
  const infer = (request: object) => rpc.failure('ModelInfer', request);

  it('should answer NOT_FOUND for an unknown model or version', async () => {
    const model = await infer({ model_name: 'nope', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect([model.code, model.nbdCode]).toEqual([status.NOT_FOUND, 'NBD_ERR_MODEL_NOT_FOUND']);
    const version = await infer({ model_name: 'identity_fp32', model_version: '9', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect([version.code, version.nbdCode]).toEqual([status.NOT_FOUND, 'NBD_ERR_VERSION_NOT_FOUND']);
  });

  it('should answer INVALID_ARGUMENT for raw contents that do not fit, naming the input', async () => {
    const size = await infer({ model_name: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }], raw_input_contents: [Buffer.alloc(20)] });
    expect([size.code, size.nbdCode]).toEqual([status.INVALID_ARGUMENT, 'NBD_ERR_INPUT_DATA']);
    expect(size.details).toBe('input "x": raw_input_contents[0] is 20 bytes; shape [2, 3] of FP32 takes 24');
    const count = await infer({
      model_name: 'add',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2] }, { name: 'b', datatype: 'FP32', shape: [1, 2] }],
      raw_input_contents: [encodeTensor('FP32', [1, 2])]
    });
    expect([count.code, count.nbdCode]).toEqual([status.INVALID_ARGUMENT, 'NBD_ERR_BAD_REQUEST']);
    expect(count.details).toContain('raw_input_contents has 1 entries for 2 inputs');
    const strings = await infer({ model_name: 'identity_bytes', inputs: [{ name: 'x', datatype: 'BYTES', shape: [1, 3] }], raw_input_contents: [encodeTensor('BYTES', ['a', 'b'])] });
    expect(strings.code).toBe(status.INVALID_ARGUMENT);
    expect(strings.details).toContain('input "x"');
  });

  it('should answer INVALID_ARGUMENT for typed contents in the wrong field, of the wrong count, or out of range', async () => {
    const field = await infer({ model_name: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] });
    expect(field.code).toBe(status.INVALID_ARGUMENT);
    expect(field.details).toBe('input "x": datatype FP32 takes its elements in contents.fp32_contents, not contents.int_contents');
    const count = await infer({ model_name: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect(count.code).toBe(status.INVALID_ARGUMENT);
    expect(count.details).toContain('input "x": shape [2, 3] holds 6 elements but data has 3');
    const range = await infer({ model_name: 'identity_int8', inputs: [{ name: 'x', datatype: 'INT8', shape: [1, 3], contents: { int_contents: [1, 300, 3] } }] });
    expect(range.code).toBe(status.INVALID_ARGUMENT);
    expect(range.details).toContain('input "x"');
    expect(range.details).toContain('300');
    const datatype = await infer({ model_name: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect(datatype.code).toBe(status.INVALID_ARGUMENT);
    expect(datatype.details).toContain('input "x" has datatype "FLOAT"');
  });

  it('should answer INVALID_ARGUMENT for an input the model does not have or a missing one, as REST does', async () => {
    const missing = await infer({ model_name: 'add', inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } }] });
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(missing.details).toContain('"b"');
    const noModel = await infer({ model_name: '', inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } }] });
    expect(noModel.code).toBe(status.INVALID_ARGUMENT);
    expect(noModel.details).toContain('model_name');
  });

  it('should answer UNAVAILABLE for an unloaded model, and serve it again once loaded', async () => {
    const request = { model_name: 'identity_uint8', inputs: [{ name: 'x', datatype: 'UINT8', shape: [1, 3], contents: { uint_contents: [1, 2, 3] } }] };
    expect((await rest.unload('identity_uint8')).status).toBe(200);
    const unloaded = await infer(request);
    expect([unloaded.code, unloaded.nbdCode]).toEqual([status.UNAVAILABLE, 'NBD_ERR_MODEL_UNAVAILABLE']);
    expect((await rpc.call('ModelReady', { name: 'identity_uint8' })).ready).toBe(false);
    expect((await rest.load('identity_uint8')).status).toBe(200);
    expect((await rpc.call('ModelInfer', request)).outputs[0].contents.uint_contents).toEqual([1, 2, 3]);
  });

  it('should answer RESOURCE_EXHAUSTED with retry-after past a full queue, and serve the rest', async () => {
    // One instance, no batching, room for two waiting requests.
    await rest.register('queued', { 'model.onnx': fixture('slow_identity.onnx') }, { max_batch_size: 0, dynamic_batching: { default_queue_policy: { max_queue_size: 2 } } });
    const request = { model_name: 'queued', inputs: [{ name: 'x', datatype: 'FP32', shape: [50, 64] }], raw_input_contents: [encodeTensor('FP32', new Array(50 * 64).fill(1))] };
    const answers = await Promise.all(Array.from({ length: 12 }, () => rpc.call('ModelInfer', request).catch((error: Error) => error)));
    const refused = answers.filter((a): a is Error & { code: number; details: string; metadata: any } => a instanceof Error);
    const served = answers.filter((a) => !(a instanceof Error));
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThanOrEqual(3);
    for (const error of refused) {
      expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(error.details).toMatch(/model "queued" version 1 is overloaded: 2 requests are already queued/);
      expect(error.metadata.get('nbd-error-code')).toEqual(['NBD_ERR_OVERLOADED']);
      expect(Number(error.metadata.get('retry-after')[0])).toBeGreaterThanOrEqual(1);
    }
    for (const response of served) expect(response.outputs[0].shape).toEqual(['50', '64']);
  });

  it('should answer RESOURCE_EXHAUSTED for a message over --max-request-bytes', async () => {
    const small = await startService({ args: ['--grpc-port', '0', '--max-request-bytes', '4096'] });
    const client = GrpcClient.of(small);
    try {
      await new RestClient(small).register('identity_fp32', { 'model.onnx': fixture('identity_fp32.onnx') });
      const error = await client.failure('ModelInfer', { model_name: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FP32', shape: [1000, 3] }], raw_input_contents: [Buffer.alloc(12000)] });
      expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });
});

describe('the same serving as HTTP', () => {
  it('should count gRPC requests in /metrics under transport="grpc"', async () => {
    const labels = { model: 'identity_int16', transport: 'grpc' };
    const before = await rest.metrics();
    await rpc.call('ModelInfer', { model_name: 'identity_int16', inputs: [{ name: 'x', datatype: 'INT16', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] });
    // Refused by the data plane (an output the model does not have): counted as an error.
    await rpc.failure('ModelInfer', { model_name: 'identity_int16', inputs: [{ name: 'x', datatype: 'INT16', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }], outputs: [{ name: 'z' }] });
    const after = await rest.metrics();
    const delta = (outcome: string) => metricValue(after, 'nbdeploy_inference_requests_total', { ...labels, outcome }) - metricValue(before, 'nbdeploy_inference_requests_total', { ...labels, outcome });
    expect(delta('ok')).toBe(1);
    expect(delta('error')).toBe(1);
  });

  it('should be monitored: requests and rows in the model status', async () => {
    const ws = await NotebookClient.connect(service);
    try {
      await rest.register('watched', { 'model.onnx': IRIS });
      for (let i = 0; i < 3; i++) {
        await rpc.call('ModelInfer', { model_name: 'watched', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: iris.input.slice(0, 2).flat() } }] });
      }
      // Evaluation traffic, as REST's parameters.monitor = false: answered, not monitored.
      await rpc.call('ModelInfer', {
        model_name: 'watched',
        parameters: { monitor: { bool_param: false } },
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: iris.input[0] } }]
      });
      const status = await ws.call({ type: 'status', model: 'watched' });
      expect(status.ops.requests).toBe(3);
      expect(status.ops.rows).toBe(6);
    } finally {
      await ws.close();
    }
  });

  it('should batch concurrent gRPC calls into shared onnxruntime runs, as it batches HTTP and WS requests', async () => {
    await rest.register('slow', { 'model.onnx': fixture('slow_identity.onnx') });
    const labels = { model: 'slow', version: '1' };
    const before = await rest.metrics();
    // Sent together: while one run is busy (slow_identity takes a few ms per row), the others queue and run together.
    const calls = Array.from({ length: 8 }, (_, n) =>
      rpc.call('ModelInfer', { model_name: 'slow', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: Array.from({ length: 64 }, (_, j) => n * 100 + j) } }] })
    );
    const responses = await Promise.all(calls);
    responses.forEach((r, n) => expect(r.outputs[0].contents.fp32_contents[0]).toBe(n * 100));
    const after = await rest.metrics();
    const runs = metricValue(after, 'nbdeploy_batch_rows_count', labels) - metricValue(before, 'nbdeploy_batch_rows_count', labels);
    const rows = metricValue(after, 'nbdeploy_batch_rows_sum', labels) - metricValue(before, 'nbdeploy_batch_rows_sum', labels);
    expect(rows).toBe(8);
    expect(runs).toBeLessThan(8);
  });

  it('should route unversioned requests by the deployment: production and its canary share', async () => {
    const ws = await NotebookClient.connect(service);
    try {
      await rest.register('routed', { 'model.onnx': IRIS });
      await rest.register('routed', { 'model.onnx': variant(IRIS, 'canary') });
      await ws.promote('routed', 1);
      await ws.call({ type: 'set_canary', model: 'routed', version: 2, percent: 50 });
      const versions = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const response = await rpc.call('ModelInfer', { model_name: 'routed', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: iris.input[0] } }] });
        versions.add(response.model_version);
      }
      // Each of 60 requests goes to the canary with probability 1/2: both show (all alike: 2^-59).
      expect([...versions].sort()).toEqual(['1', '2']);
      const pinned = await rpc.call('ModelInfer', { model_name: 'routed', model_version: '2', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: iris.input[0] } }] });
      expect(pinned.model_version).toBe('2');
    } finally {
      await ws.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('should finish the gRPC calls in flight on SIGTERM, then take no new ones, and exit 0', async () => {
    const slow = await startService({ args: ['--grpc-port', '0'] });
    await new RestClient(slow).register('slow', { 'model.onnx': fixture('slow_identity.onnx') });
    const client = GrpcClient.of(slow);
    // slow_identity spends a few ms of CPU per row: these requests stay in flight.
    const rowsOf = (n: number): number[] => Array.from({ length: 4 * 64 }, (_, j) => n * 10_000 + j);
    const calls = Array.from({ length: 6 }, (_, n) =>
      client
        .call('ModelInfer', { model_name: 'slow', id: `grpc-${n}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [4, 64] }], raw_input_contents: [encodeTensor('FP32', rowsOf(n))] })
        .catch((error: Error) => error)
    );
    // Answered after them on the same connection: the service has read every one of them.
    await client.call('ServerLive', {});
    slow.signal('SIGTERM');

    const results = await Promise.all(calls);
    results.forEach((result, n) => {
      expect(result, String(result)).not.toBeInstanceOf(Error);
      expect(result.id).toBe(`grpc-${n}`);
      expect(decodeTensor('FP32', 4 * 64, result.raw_output_contents[0]).values).toEqual(rowsOf(n));
    });

    // From now on no call is served: not ready, or no connection at all.
    let refused = false;
    for (let attempt = 0; attempt < 500 && !refused; attempt++) {
      const probe = GrpcClient.of(slow, null);
      try {
        refused = (await probe.call('ServerReady', {}, {})).ready === false;
      } catch (error) {
        expect((error as { code: number }).code).toBe(status.UNAVAILABLE);
        refused = true;
      } finally {
        probe.close();
      }
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(refused).toBe(true);
    client.close();
    expect(await slow.exited).toEqual({ code: 0, signal: null });
  });
});
