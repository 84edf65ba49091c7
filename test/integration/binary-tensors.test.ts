/**
 * Triton's binary tensor data extension on POST /v2/models/{name}/infer, with requests built
 * byte for byte as tritonclient.http builds them (support/triton.ts), against a real service.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, metricValue } from '../support/http.js';
import { fixture, fixtureJson, twoInputModel } from '../support/models.js';
import { DATATYPES, SAMPLES, fromJson, modelOf, registerIdentityModels, shapeOf } from '../support/samples.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { decodeTensor, encodeTensor, sameValues } from '../support/tensors.js';
import { type TritonRequest, tritonRequest, tritonResult } from '../support/triton.js';

let service: ServiceProcess;
let rest: RestClient;

beforeAll(async () => {
  service = await startService();
  rest = new RestClient(service);
  await registerIdentityModels(rest);
  await rest.register('iris', { 'model.onnx': fixture('iris_classifier.onnx') });
  await rest.register('add', { 'model.onnx': twoInputModel() });
});

afterAll(cleanup);

/** Sends a request as tritonclient.http's `infer` does. */
function infer(model: string, request: TritonRequest) {
  const { body, headers } = tritonRequest(request);
  return rest.post(`/v2/models/${model}/infer`, body, { headers });
}

/** Sends a body as given, with Inference-Header-Content-Length. */
function inferRaw(model: string, body: Buffer | string, headerLength?: number | string) {
  const headers: Record<string, string> = headerLength === undefined ? {} : { 'Inference-Header-Content-Length': String(headerLength) };
  return rest.post(`/v2/models/${model}/infer`, body, { headers });
}

const show = (values: unknown[]): string => JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

describe('binary tensor data, as tritonclient.http sends it by default', () => {
  it('should say so in the server metadata', async () => {
    const res = await rest.get('/v2');
    expect(res.json().extensions).toContain('binary_tensor_data');
  });

  it.each(DATATYPES)('should round-trip %s: binary inputs in, binary outputs out', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.binary);
    const res = await infer(modelOf(datatype), { id: `binary-${datatype}`, inputs: [{ name: 'x', shape, datatype, binary: encodeTensor(datatype, sample.binary) }] });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const { json, outputs } = tritonResult(res.headers, res.body);
    expect(json).toMatchObject({ model_name: modelOf(datatype), model_version: '1', id: `binary-${datatype}` });
    const y = outputs.get('y')!;
    expect(y).toMatchObject({ datatype, shape });
    expect(json.outputs[0].parameters.binary_data_size).toBe(y.binary!.length);
    expect(json.outputs[0].data).toBeUndefined();
    const { values, used } = decodeTensor(datatype, shape[0]! * shape[1]!, y.binary!);
    expect(used).toBe(y.binary!.length);
    expect(sameValues(values, sample.expected), show(values)).toBe(true);
  });

  it.each(DATATYPES)('should take %s as binary input and answer JSON when the output asks binary_data: false', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.binary);
    const res = await infer(modelOf(datatype), {
      inputs: [{ name: 'x', shape, datatype, binary: encodeTensor(datatype, sample.binary) }],
      outputs: [{ name: 'y', binaryData: false }]
    });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['inference-header-content-length']).toBeUndefined();
    const y = res.json().outputs[0];
    expect(y).toMatchObject({ name: 'y', datatype, shape });
    const back = (y.data as unknown[]).map((v) => fromJson(datatype, v));
    // JSON.parse reads 64-bit integers past 2^53 inexactly: compare those through the binary test above.
    if (!datatype.endsWith('INT64')) expect(sameValues(back, sample.expected), show(back)).toBe(true);
  });

  it('should answer binary outputs for JSON inputs when the request asks binary_data_output', async () => {
    const res = await infer('identity_fp16', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP16', data: [1.5, -2, 65504] }] });
    expect(res.status, res.text).toBe(200);
    const { outputs } = tritonResult(res.headers, res.body);
    expect(decodeTensor('FP16', 3, outputs.get('y')!.binary!).values).toEqual([1.5, -2, 65504]);
  });

  it('should mix binary and JSON outputs as each output asks', async () => {
    const iris = fixtureJson<{ input: number[][]; label: number[] }>('iris_classifier.expected.json');
    const rows = iris.input.slice(0, 4);
    const res = await infer('iris', {
      inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', binary: encodeTensor('FP32', rows.flat()) }],
      outputs: [{ name: 'probabilities', binaryData: false }, { name: 'label' }]
    });
    expect(res.status, res.text).toBe(200);
    const { json, outputs } = tritonResult(res.headers, res.body);
    expect(json.outputs.map((o: any) => o.name).sort()).toEqual(['label', 'probabilities']);
    expect(outputs.get('probabilities')!.data).toHaveLength(rows.length * 3);
    expect(decodeTensor('INT64', rows.length, outputs.get('label')!.binary!).values).toEqual(iris.label.slice(0, 4).map(BigInt));
  });

  it('should take one input as binary data and another as JSON', async () => {
    const res = await infer('add', {
      inputs: [
        { name: 'a', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'b', shape: [2, 2], datatype: 'FP32', binary: encodeTensor('FP32', [10, 20, 30, 40]) }
      ]
    });
    expect(res.status, res.text).toBe(200);
    const { outputs } = tritonResult(res.headers, res.body);
    expect(decodeTensor('FP32', 4, outputs.get('y')!.binary!).values).toEqual([11, 22, 33, 44]);
  });

  it('should take binary inputs in the order the JSON lists them', async () => {
    const res = await infer('add', {
      inputs: [
        { name: 'b', shape: [1, 2], datatype: 'FP32', binary: encodeTensor('FP32', [100, 200]) },
        { name: 'a', shape: [1, 2], datatype: 'FP32', binary: encodeTensor('FP32', [1, 2]) }
      ],
      outputs: [{ name: 'y', binaryData: false }]
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json().outputs[0].data).toEqual([101, 202]);
  });

  it('should carry empty BYTES elements and a tensor of zero rows', async () => {
    const strings = ['', 'a', ''];
    const res = await infer('identity_bytes', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'BYTES', binary: encodeTensor('BYTES', strings) }] });
    expect(res.status, res.text).toBe(200);
    expect(decodeTensor('BYTES', 3, tritonResult(res.headers, res.body).outputs.get('y')!.binary!).values).toEqual(strings);
    const empty = await infer('identity_fp32', { inputs: [{ name: 'x', shape: [0, 3], datatype: 'FP32', binary: Buffer.alloc(0) }] });
    expect(empty.status, empty.text).toBe(200);
    const y = tritonResult(empty.headers, empty.body).outputs.get('y')!;
    expect(y.shape).toEqual([0, 3]);
    expect(y.binary!.length).toBe(0);
  });

  it('should read bodies compressed with gzip or deflate, as tritonclient sends them when asked', async () => {
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const { body, headers } = tritonRequest({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT16', binary: encodeTensor('INT16', [-7, 0, 7]) }] });
      const res = await rest.post('/v2/models/identity_int16/infer', compress(body), { headers: { ...headers, 'Content-Encoding': encoding } });
      expect(res.status, res.text).toBe(200);
      expect(decodeTensor('INT16', 3, tritonResult(res.headers, res.body).outputs.get('y')!.binary!).values).toEqual([-7, 0, 7]);
    }
  });

  it('should count binary requests as HTTP requests in /metrics', async () => {
    const before = metricValue(await rest.metrics(), 'nbdeploy_inference_requests_total', { model: 'identity_int32', transport: 'http', outcome: 'ok' });
    const res = await infer('identity_int32', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT32', binary: encodeTensor('INT32', [1, 2, 3]) }] });
    expect(res.status, res.text).toBe(200);
    const after = metricValue(await rest.metrics(), 'nbdeploy_inference_requests_total', { model: 'identity_int32', transport: 'http', outcome: 'ok' });
    expect(after - before).toBe(1);
  });
});

describe('bad binary requests get a 400 naming what is wrong', () => {
  const header = (inputs: unknown[]): string => JSON.stringify({ inputs });
  const fp32x = (size: number) => ({ name: 'x', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: size } });
  const floats = encodeTensor('FP32', [1, 2, 3, 4, 5, 6]);

  const expectError = async (res: Awaited<ReturnType<typeof inferRaw>>, code: string, ...parts: string[]) => {
    expect(res.status, res.text).toBe(400);
    const body = res.json();
    expect(body.code).toBe(code);
    for (const part of parts) expect(body.error).toContain(part);
  };

  it('should refuse a header length past the end of the body', async () => {
    const json = header([fp32x(24)]);
    const body = Buffer.concat([Buffer.from(json), floats]);
    await expectError(await inferRaw('identity_fp32', body, body.length + 1), 'NBD_ERR_BAD_REQUEST', `Inference-Header-Content-Length is ${body.length + 1}`, `only ${body.length} bytes`);
  });

  it('should refuse a header length that is not a number', async () => {
    await expectError(await inferRaw('identity_fp32', header([fp32x(24)]), 'twelve'), 'NBD_ERR_BAD_REQUEST', 'Inference-Header-Content-Length', '"twelve"');
  });

  it('should refuse a header length that cuts the JSON', async () => {
    const json = header([fp32x(24)]);
    await expectError(await inferRaw('identity_fp32', Buffer.concat([Buffer.from(json), floats]), json.length - 3), 'NBD_ERR_BAD_JSON', 'Inference-Header-Content-Length');
  });

  it('should refuse binary data past what the inputs declare', async () => {
    const json = header([fp32x(24)]);
    const body = Buffer.concat([Buffer.from(json), floats, Buffer.alloc(8)]);
    await expectError(await inferRaw('identity_fp32', body, json.length), 'NBD_ERR_BAD_REQUEST', '32 bytes follow the JSON header', 'add up to 24');
  });

  it('should refuse a binary_data_size larger than the binary data left, naming the input', async () => {
    const json = JSON.stringify({
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
        { name: 'b', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } }
      ]
    });
    const body = Buffer.concat([Buffer.from(json), encodeTensor('FP32', [1, 2, 3])]);
    await expectError(await inferRaw('add', body, json.length), 'NBD_ERR_INPUT_DATA', 'input "b"', 'binary_data_size is 8 bytes but only 4 bytes');
  });

  it('should refuse a binary_data_size that does not fit the shape, naming the input', async () => {
    const json = header([fp32x(20)]);
    const body = Buffer.concat([Buffer.from(json), floats.subarray(0, 20)]);
    await expectError(await inferRaw('identity_fp32', body, json.length), 'NBD_ERR_INPUT_DATA', 'input "x"', 'binary_data_size is 20 bytes; shape [2, 3] of FP32 takes 24');
  });

  it('should refuse BYTES elements that end before their shape is filled', async () => {
    const data = encodeTensor('BYTES', ['ab', 'cd']);
    const json = header([{ name: 'x', shape: [1, 3], datatype: 'BYTES', parameters: { binary_data_size: data.length } }]);
    await expectError(await inferRaw('identity_bytes', Buffer.concat([Buffer.from(json), data]), json.length), 'NBD_ERR_INPUT_DATA', 'input "x"', '3 elements of shape [1, 3]');
  });

  it('should refuse BYTES elements that leave bytes over', async () => {
    const data = Buffer.concat([encodeTensor('BYTES', ['ab', 'cd', 'ef']), Buffer.from('zz')]);
    const json = header([{ name: 'x', shape: [1, 3], datatype: 'BYTES', parameters: { binary_data_size: data.length } }]);
    await expectError(await inferRaw('identity_bytes', Buffer.concat([Buffer.from(json), data]), json.length), 'NBD_ERR_INPUT_DATA', 'input "x"', `binary_data_size is ${data.length} bytes`, 'take 18');
  });

  it('should refuse binary_data_size without the header', async () => {
    await expectError(await inferRaw('identity_fp32', header([fp32x(24)])), 'NBD_ERR_INPUT_DATA', 'input "x"', 'no Inference-Header-Content-Length');
  });

  it('should refuse an input with both data and binary_data_size, and one with neither', async () => {
    const both = header([{ ...fp32x(24), data: [1, 2, 3, 4, 5, 6] }]);
    await expectError(await inferRaw('identity_fp32', Buffer.concat([Buffer.from(both), floats]), both.length), 'NBD_ERR_INPUT_DATA', 'input "x"', 'both');
    const neither = header([{ name: 'x', shape: [2, 3], datatype: 'FP32' }]);
    await expectError(await inferRaw('identity_fp32', neither), 'NBD_ERR_BAD_REQUEST', 'inputs[0].data', 'input "x"', 'neither');
  });

  it('should refuse a binary_data_size that is not a byte count', async () => {
    const json = header([fp32x(-4)]);
    await expectError(await inferRaw('identity_fp32', json, json.length), 'NBD_ERR_INPUT_DATA', 'input "x"', 'binary_data_size must be a byte count, got -4');
  });

  it('should refuse a compressed body that inflates past --max-request-bytes, or another encoding', async () => {
    const small = await startService({ args: ['--max-request-bytes', '4096'] });
    const client = new RestClient(small);
    await client.register('identity_fp32', { 'model.onnx': fixture('identity_fp32.onnx') });
    const { body, headers } = tritonRequest({ inputs: [{ name: 'x', shape: [1000, 3], datatype: 'FP32', binary: Buffer.alloc(12000) }] });
    const zipped = gzipSync(body);
    expect(zipped.length).toBeLessThan(4096);
    const res = await client.post('/v2/models/identity_fp32/infer', zipped, { headers: { ...headers, 'Content-Encoding': 'gzip' } });
    expect(res.status, res.text).toBe(413);
    expect(res.json().error).toContain('once inflated');
    await expectError(await rest.post('/v2/models/identity_fp32/infer', body, { headers: { ...headers, 'Content-Encoding': 'br' } }), 'NBD_ERR_BAD_REQUEST', 'Content-Encoding "br"');
    await expectError(await rest.post('/v2/models/identity_fp32/infer', body, { headers: { ...headers, 'Content-Encoding': 'gzip' } }), 'NBD_ERR_BAD_REQUEST', 'not gzip data');
  });

  it('should refuse what it does not support by name: shared memory, classification', async () => {
    const shm = header([{ name: 'x', shape: [2, 3], datatype: 'FP32', parameters: { shared_memory_region: 'r', shared_memory_byte_size: 24 } }]);
    await expectError(await inferRaw('identity_fp32', shm), 'NBD_ERR_INPUT_DATA', 'input "x"', 'shared memory');
    const classification = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }], outputs: [{ name: 'y', parameters: { classification: 2 } }] });
    await expectError(await inferRaw('identity_fp32', classification), 'NBD_ERR_BAD_REQUEST', 'output "y"', 'classification');
  });
});
