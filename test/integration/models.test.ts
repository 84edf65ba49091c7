import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, metricValue } from '../support/http.js';
import { fixture, fixtureJson, fp32, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

let service: ServiceProcess;
let rest: RestClient;
let ws: NotebookClient;

beforeAll(async () => {
  service = await startService();
  rest = new RestClient(service);
  ws = await NotebookClient.connect(service);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

/** Folders in DIR/artifacts (temporary ones included). */
const artifactFolders = (): string[] => readdirSync(path.join(service.stateDir, 'artifacts'));

describe('repository load of invalid models', () => {
  it('should refuse a corrupt model with 422 NBD_ERR_MODEL_INVALID naming the reason, and keep nothing', async () => {
    const res = await rest.load('corrupt', { 'model.onnx': fixture('corrupt.onnx') });
    expect(res.status, res.text).toBe(422);
    const error = res.json();
    expect(error.code).toBe('NBD_ERR_MODEL_INVALID');
    expect(error.error).toMatch(/^the ONNX model cannot be loaded: .*(not an ONNX model|protobuf parsing failed)/i);
    expect(await rest.index()).toEqual([]);
    expect(artifactFolders()).toEqual([]);
    expect((await rest.get('/v2/models/corrupt')).status).toBe(404);
  });

  it('should refuse a model whose external data leaves its folder with 422 NBD_ERR_MODEL_EXTERNAL_DATA', async () => {
    const res = await rest.load('escape', { 'model.onnx': fixture('external_escape.onnx') });
    expect(res.status, res.text).toBe(422);
    const error = res.json();
    expect(error.code).toBe('NBD_ERR_MODEL_EXTERNAL_DATA');
    expect(error.error).toContain('"W"');
    expect(error.error).toContain('../../../etc/passwd');
    expect(error.error).toMatch(/leaves the model's folder/);
    expect(await rest.index()).toEqual([]);
    expect(artifactFolders()).toEqual([]);
  });

  it('should refuse a model whose external data file was not sent', async () => {
    const res = await rest.load('external', { 'model.onnx': fixture('external_ok/model.onnx') });
    expect(res.status, res.text).toBe(422);
    expect(res.json().code).toBe('NBD_ERR_MODEL_EXTERNAL_DATA');
    expect(res.json().error).toMatch(/weights\.bin/);
    expect(await rest.index()).toEqual([]);
    expect(artifactFolders()).toEqual([]);
  });

  it('should refuse file parameters that leave the version folder or are not base64', async () => {
    const escape = await rest.post('/v2/repository/models/bad/load', { parameters: { 'file:1/../model.onnx': IRIS.toString('base64') } });
    expect(escape.status).toBe(400);
    expect(escape.json().code).toBe('NBD_ERR_BAD_REQUEST');
    const notBase64 = await rest.post('/v2/repository/models/bad/load', { parameters: { 'file:1/model.onnx': '%%% not base64 %%%' } });
    expect(notBase64.status).toBe(400);
    const noModel = await rest.post('/v2/repository/models/bad/load', { parameters: { 'file:1/weights.bin': 'AAAA' } });
    expect(noModel.status).toBe(400);
    expect(noModel.json().error).toContain('file:1/model.onnx');
    expect(await rest.index()).toEqual([]);
  });

  it('should refuse a model name the registry cannot keep', async () => {
    const res = await rest.load('-starts-with-a-dash', { 'model.onnx': IRIS });
    expect(res.status).toBe(400);
    expect(res.json().code).toBe('NBD_ERR_BAD_REQUEST');
    expect(artifactFolders()).toEqual([]);
  });
});

describe('repository load of valid models', () => {
  it('should load a model with external data sent beside it and infer with it', async () => {
    const loaded = await rest.register('external', {
      'model.onnx': fixture('external_ok/model.onnx'),
      'weights.bin': fixture('external_ok/weights.bin')
    });
    expect(loaded).toMatchObject({ model_version: '1', created: true });
    const res = await rest.infer('external', [fp32('x', [[1, 1]])]);
    expect(res.status, res.text).toBe(200);
    expect(res.json().outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [2.5, -1] }]);
    const artifact = artifactFolders().find((f) => !f.startsWith('.'))!;
    expect(readdirSync(path.join(service.stateDir, 'artifacts', artifact)).sort()).toEqual(['model.onnx', 'weights.bin']);
  });

  it('should return the same version with created:false for the same bytes', async () => {
    const first = await rest.register('twice', { 'model.onnx': IRIS });
    const second = await rest.register('twice', { 'model.onnx': IRIS });
    expect(first).toMatchObject({ model_version: '1', created: true });
    expect(second).toEqual({ ...first, created: false });
    const other = await rest.register('twice', { 'model.onnx': variant(IRIS, 'b') });
    expect(other).toMatchObject({ model_version: '2', created: true });
    expect((await rest.index()).filter((r) => r.name === 'twice').map((r) => r.version)).toEqual(['1', '2']);
  });

  it('should register the same bytes sent at the same time once, under one name or several', async () => {
    for (let round = 0; round < 4; round++) {
      const bytes = variant(fixture('slow_identity.onnx'), `concurrent-${round}`);
      const names = [`same-${round}`, `same-${round}`, `same-${round}`, `other-${round}`, `other-${round}`];
      const results = await Promise.all(names.map((name) => rest.load(name, { 'model.onnx': bytes })));
      results.forEach((res) => expect(res.status, res.text).toBe(200));
      for (const name of new Set(names)) {
        const mine = results.filter((_, i) => names[i] === name).map((res) => res.json());
        expect(mine.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(mine.map((r) => r.model_version))).toEqual(new Set(['1']));
      }
      // One content-addressed artifact serves both models.
      const sha = results[0]!.json().sha256;
      expect(artifactFolders().filter((f) => f === sha)).toHaveLength(1);
    }
    expect(artifactFolders().filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('should report model metadata with the signature and free dimensions as -1', async () => {
    await rest.register('meta', { 'model.onnx': IRIS });
    const res = await rest.get('/v2/models/meta');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'meta',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }
      ],
      parameters: { version: '1', stage: 'staging' }
    });
    expect((await rest.get('/v2/models/meta/ready')).json()).toEqual({ name: 'meta', ready: true });
  });
});

describe('versioned and unversioned routes', () => {
  const infer = async (route: string): Promise<{ status: number; version?: string; code?: string }> => {
    const res = await rest.post(route, { inputs: [fp32('input', [ROW])] });
    const body = res.json();
    return res.status === 200 ? { status: 200, version: body.model_version } : { status: res.status, code: body.code };
  };

  it('should serve the newest version while there is no production version, then the production version', async () => {
    await rest.register('routes', { 'model.onnx': IRIS });
    expect(await infer('/v2/models/routes/infer')).toEqual({ status: 200, version: '1' });
    await rest.register('routes', { 'model.onnx': variant(IRIS, 'v2') });
    expect(await infer('/v2/models/routes/infer')).toEqual({ status: 200, version: '2' });
    expect(await infer('/v2/models/routes/versions/1/infer')).toEqual({ status: 200, version: '1' });
    expect(await infer('/v2/models/routes/versions/2/infer')).toEqual({ status: 200, version: '2' });

    await ws.promote('routes', 1);
    expect(await infer('/v2/models/routes/infer')).toEqual({ status: 200, version: '1' });
    expect(await infer('/v2/models/routes/versions/2/infer')).toEqual({ status: 200, version: '2' });
    expect((await rest.get('/v2/models/routes')).json().parameters).toMatchObject({ version: '1', stage: 'production' });
    expect((await rest.get('/v2/models/routes/versions/2')).json()).toMatchObject({ versions: ['2'], parameters: { version: '2', stage: 'staging' } });

    // A newer version does not take the unversioned route from production.
    await rest.register('routes', { 'model.onnx': variant(IRIS, 'v3') });
    expect(await infer('/v2/models/routes/infer')).toEqual({ status: 200, version: '1' });
    expect(await infer('/v2/models/routes/versions/3/infer')).toEqual({ status: 200, version: '3' });
  });

  it('should answer a version that does not exist with 404 NBD_ERR_VERSION_NOT_FOUND', async () => {
    await rest.register('few', { 'model.onnx': IRIS });
    expect(await infer('/v2/models/few/versions/7/infer')).toEqual({ status: 404, code: 'NBD_ERR_VERSION_NOT_FOUND' });
    expect(await infer('/v2/models/few/versions/0/infer')).toEqual({ status: 404, code: 'NBD_ERR_VERSION_NOT_FOUND' });
    expect(await infer('/v2/models/few/versions/abc/infer')).toEqual({ status: 404, code: 'NBD_ERR_VERSION_NOT_FOUND' });
    expect((await rest.get('/v2/models/few/versions/7')).status).toBe(404);
  });

  it('should answer 503 after unload, and serve again after load', async () => {
    await rest.register('unloadable', { 'model.onnx': IRIS });
    expect(await infer('/v2/models/unloadable/infer')).toEqual({ status: 200, version: '1' });

    const unloaded = await rest.unload('unloadable');
    expect(unloaded.status, unloaded.text).toBe(200);
    expect(unloaded.json()).toEqual({ model_name: 'unloadable', serving: false });
    expect(await infer('/v2/models/unloadable/infer')).toEqual({ status: 503, code: 'NBD_ERR_MODEL_UNAVAILABLE' });
    expect(await infer('/v2/models/unloadable/versions/1/infer')).toEqual({ status: 503, code: 'NBD_ERR_MODEL_UNAVAILABLE' });
    expect((await rest.get('/v2/models/unloadable/ready')).status).toBe(503);
    expect((await rest.get('/v2/models/unloadable')).status).toBe(200);
    expect((await rest.index()).filter((r) => r.name === 'unloadable')).toEqual([
      { name: 'unloadable', version: '1', state: 'UNAVAILABLE', reason: 'unloaded', stage: 'staging' }
    ]);
    expect((await rest.post('/v2/repository/index', { ready: true })).json()).not.toContainEqual(expect.objectContaining({ name: 'unloadable' }));

    const loaded = await rest.load('unloadable');
    expect(loaded.status, loaded.text).toBe(200);
    expect(loaded.json()).toEqual({ model_name: 'unloadable', serving: true });
    expect(await infer('/v2/models/unloadable/infer')).toEqual({ status: 200, version: '1' });
    expect((await rest.get('/v2/models/unloadable/ready')).status).toBe(200);
  });

  it('should answer load and unload of an unknown model with 404', async () => {
    expect((await rest.load('unknown')).status).toBe(404);
    expect((await rest.unload('unknown')).status).toBe(404);
  });
});

describe('fixed batch models', () => {
  const iris = fixtureJson<{ input: number[][]; label: number[] }>('iris_classifier.expected.json');

  it('should serve a model with a fixed batch of one with batching off', async () => {
    // The default config asks for batching; the fixed shapes must turn it off.
    await rest.register('fixed', { 'model.onnx': fixture('fixed_batch.onnx') }, { max_batch_size: 16 });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => rest.infer('fixed', [fp32('input', [iris.input[i % iris.input.length]!])]))
    );
    results.forEach((res, i) => {
      expect(res.status, res.text).toBe(200);
      expect(res.json().outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [1], data: [iris.label[i % iris.label.length]] });
    });
    const metrics = await rest.metrics();
    const labels = { model: 'fixed', version: '1' };
    const runs = metricValue(metrics, 'nbdeploy_batch_rows_count', labels);
    expect(runs).toBeGreaterThanOrEqual(30);
    // Every run had exactly one row.
    expect(metricValue(metrics, 'nbdeploy_batch_rows_sum', labels)).toBe(runs);

    const two = await rest.infer('fixed', [fp32('input', iris.input.slice(0, 2))]);
    expect(two.status).toBe(400);
    expect(two.json()).toMatchObject({ code: 'NBD_ERR_INPUT_SHAPE', error: 'input "input" has shape [2, 4]; model "fixed" expects [1, 4]' });
  });
});
