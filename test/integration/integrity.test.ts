/**
 * Data integrity in a real `nbdeploy serve`: a model exported from a DataFrame (one input
 * per column, named like the feature) with a training profile. Each integrity kind is
 * counted in `status`, over HTTP and WebSocket (JSON and binary); the deployment's policy
 * refuses (a 400 naming the field and kind) or serves (coerced, filled, dropped); refused
 * requests are counted too, and nothing is dropped silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../support/http.js';
import { columnModel } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { encodeTensor } from '../support/tensors.js';

/** Inputs `age` (FP32 [N, 1]) and `city` (BYTES [N, 1]); outputs them back as `age_out`, `city_out`. */
function dataFrameModel(): Buffer {
  return columnModel({
    name: 'columns',
    inputs: { age: 'FP32', city: 'BYTES' },
    outputs: { age_out: 'FP32', city_out: 'BYTES' },
    nodes: [
      { opType: 'Identity', input: ['age'], output: ['age_out'], name: 'age_id' },
      { opType: 'Identity', input: ['city'], output: ['city_out'], name: 'city_id' }
    ]
  });
}

const PROFILE = {
  rows: 1000,
  features: {
    age: { kind: 'numeric', count: 1000, null_rate: 0.0, min: 20, max: 70, sample: Array.from({ length: 100 }, (_, i) => 20 + (i % 51)) },
    city: { kind: 'categorical', count: 1000, null_rate: 0.0, categories: { paris: 0.5, lyon: 0.5 }, other_rate: 0, sample: Array.from({ length: 100 }, (_, i) => (i % 2 ? 'paris' : 'lyon')) }
  }
};

const age = (values: unknown[]) => ({ name: 'age', datatype: 'FP32', shape: [values.length, 1], data: values });
const city = (values: unknown[]) => ({ name: 'city', datatype: 'BYTES', shape: [values.length, 1], data: values });

let service: ServiceProcess;
let ws: NotebookClient;
let rest: RestClient;

beforeAll(async () => {
  // Long windows: every request of this file falls in the span `status` reads.
  service = await startService({ args: ['--monitor-window-seconds', '3600'] });
  ws = await NotebookClient.connect(service);
  rest = new RestClient(service);
  for (const model of ['churn', 'strict']) {
    const registered = await ws.register(model, dataFrameModel(), { profile: PROFILE });
    await ws.promote(model, registered.version, { override: 'integration test' });
  }
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

const status = async (model: string) => (await ws.call({ type: 'status', model })) as Record<string, any>;

describe('integrity with the default policy', () => {
  it('should count every kind, serve what it can and say what it did', async () => {
    // Clean traffic first: nothing counted.
    expect((await rest.infer('churn', [age([30, 41]), city(['paris', 'lyon'])])).status).toBe(200);
    expect((await status('churn')).integrity).toEqual({ missing_feature: 0, unexpected_feature: 0, type_mismatch: 0, new_category: 0, out_of_range: 0, null_spike: 0 });

    // type_mismatch served: numbers as strings and comma decimals coerced.
    const coerced = await rest.infer('churn', [age(['33', '41,5']), city(['paris', 'lyon'])]);
    expect(coerced.status, coerced.text).toBe(200);
    expect(coerced.json().outputs.find((o: { name: string }) => o.name === 'age_out').data).toEqual([33, 41.5]);

    // new_category and out_of_range served as sent; an unexpected input dropped.
    const odd = await rest.infer('churn', [age([200, 30]), city(['berlin', 'paris']), { name: 'colour', datatype: 'BYTES', shape: [2, 1], data: ['red', 'blue'] }]);
    expect(odd.status, odd.text).toBe(200);
    expect(odd.json().outputs.find((o: { name: string }) => o.name === 'age_out').data).toEqual([200, 30]);

    // missing_feature refused: a 400 naming the field and the kind, with the likely rename.
    const missing = await rest.infer('churn', [{ ...age([30]), name: 'Age' }, city(['paris'])]);
    expect(missing.status).toBe(400);
    expect(missing.json()).toEqual({
      code: 'NBD_ERR_INTEGRITY_REFUSED',
      error: 'input "age" refused by the model\'s integrity policy (missing_feature): missing input "age": model "churn" expects "age" (FP32 [N, 1]); "Age" was sent instead (likely renamed)'
    });

    // A string that is no number cannot be served under any policy: refused, and counted.
    const garbage = await rest.infer('churn', [age(['abc']), city(['paris'])]);
    expect(garbage.status).toBe(400);
    expect(garbage.json().code).toBe('NBD_ERR_INPUT_DATA');

    // null_spike: 30 rows of which 15 are null, against a training null rate of 0.
    const nulls = await rest.infer('churn', [age(Array.from({ length: 30 }, (_, i) => (i % 2 ? null : 40))), city(Array.from({ length: 30 }, () => 'paris'))]);
    expect(nulls.status, nulls.text).toBe(200);

    const s = await status('churn');
    expect(s.integrity).toEqual({ missing_feature: 1, unexpected_feature: 3, type_mismatch: 3, new_category: 1, out_of_range: 1, null_spike: 15 });
    expect(s.integrity_features.Age.detail).toContain('its values fit the missing input "age" (likely renamed); request refused');
    expect(s.integrity_features.colour.detail).toMatch(/served: dropped$/);
    expect(s.integrity_features.city.detail).toBe('1 value(s) in categories not seen in training (e.g. "berlin"); served: as sent');
    expect(s.integrity_features.age.counts).toEqual({ type_mismatch: 3, out_of_range: 1, missing_feature: 1, null_spike: 15 });
    expect(s.integrity_features.age.training_null_rate).toBe(0);
    // Nothing dropped silently: every request is in ops, the refused ones by code.
    expect(s.ops.requests).toBe(6);
    expect(s.ops.errors_by_code).toEqual({ NBD_ERR_INTEGRITY_REFUSED: 1, NBD_ERR_INPUT_DATA: 1 });
  });
});

describe('set_integrity_policy', () => {
  it('should change what is refused, audit it and show it in get_model', async () => {
    const reply = await ws.call({ type: 'set_integrity_policy', model: 'strict', policy: { out_of_range: 'refuse', type_mismatch: 'refuse', missing_feature: 'serve' }, context: { notebook: 'ops.ipynb' } });
    expect(reply.type).toBe('deployment');
    expect(reply.model.deployment.integrity_policy).toEqual({
      missing_feature: 'serve',
      unexpected_feature: 'serve',
      type_mismatch: 'refuse',
      new_category: 'serve',
      out_of_range: 'refuse',
      null_spike: 'serve'
    });
    const model = await ws.call({ type: 'get_model', model: 'strict' });
    expect(model.model.deployment.integrity_policy.out_of_range).toBe('refuse');
    const audit = await ws.call({ type: 'audit', model: 'strict', limit: 1 });
    expect(audit.entries[0]).toMatchObject({ action: 'integrity_policy', notebook: 'ops.ipynb', details: { changed: { out_of_range: 'refuse', type_mismatch: 'refuse', missing_feature: 'serve' } } });
  });

  it('should refuse over HTTP and WebSocket (JSON and binary) with the field named, and count the refusals', async () => {
    const http = await rest.infer('strict', [age([500]), city(['paris'])]);
    expect(http.status).toBe(400);
    expect(http.json().code).toBe('NBD_ERR_INTEGRITY_REFUSED');
    expect(http.json().error).toMatch(/^input "age" refused by the model's integrity policy \(out_of_range\): 1 value\(s\) outside the training range \[20, 70\]/);

    const wsJson = await ws.request({ type: 'infer', model: 'strict', inputs: [age(['41,5']), city(['paris'])] });
    expect(wsJson).toMatchObject({ type: 'error', code: 'NBD_ERR_INTEGRITY_REFUSED', status: 400 });
    expect(wsJson.error).toContain('input "age" refused by the model\'s integrity policy (type_mismatch): comma decimals ("41,5" read as 41.5)');

    // Binary frames: FP64 sent for an FP32 input, refused as a type mismatch.
    const binary = await ws.requestBinary(
      { type: 'infer', model: 'strict', inputs: [{ name: 'age', datatype: 'FP64', shape: [1, 1] }, { name: 'city', datatype: 'BYTES', shape: [1, 1] }] },
      [encodeTensor('FP64', [30]), encodeTensor('BYTES', ['paris'])]
    );
    expect(binary).toMatchObject({ type: 'error', code: 'NBD_ERR_INTEGRITY_REFUSED' });
    expect(binary.error).toContain('(type_mismatch): datatype FP64 sent, FP32 expected');

    // Served under this policy: a missing float input filled with NaN.
    const filled = await ws.call({ type: 'infer', model: 'strict', inputs: [city(['paris'])] });
    expect(filled.outputs.find((o: { name: string }) => o.name === 'age_out').data).toEqual(['NaN']);

    const s = await status('strict');
    expect(s.integrity).toMatchObject({ out_of_range: 1, type_mismatch: 2, missing_feature: 1 });
    expect(s.ops.errors_by_code).toEqual({ NBD_ERR_INTEGRITY_REFUSED: 3 });
  });

  it('should serve over WebSocket binary frames what the default policy serves', async () => {
    const reply = await ws.callBinary(
      { type: 'infer', model: 'churn', inputs: [{ name: 'age', datatype: 'FP64', shape: [1, 1] }, { name: 'city', datatype: 'BYTES', shape: [1, 1] }] },
      [encodeTensor('FP64', [30]), encodeTensor('BYTES', ['rome'])]
    );
    expect(reply.type).toBe('infer_result');
    const s = await status('churn');
    expect(s.integrity.type_mismatch).toBe(4);
    expect(s.integrity.new_category).toBe(2);
  });

  it('should reject a policy naming an unknown kind or refusing null spikes, naming the field', async () => {
    const unknown = await ws.request({ type: 'set_integrity_policy', model: 'strict', policy: { colour: 'refuse' } });
    expect(unknown).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(unknown.error).toContain('colour');
    const spike = await ws.request({ type: 'set_integrity_policy', model: 'strict', policy: { null_spike: 'refuse' } });
    expect(spike).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(spike.error).toContain('policy.null_spike');
    const nobody = await ws.request({ type: 'set_integrity_policy', model: 'nobody', policy: { out_of_range: 'refuse' } });
    expect(nobody).toMatchObject({ type: 'error', code: 'NBD_ERR_MODEL_NOT_FOUND' });
  });

  it('should keep the policy across a restart', async () => {
    await ws.close();
    await service.stop();
    service = await startService({ stateDir: service.stateDir, args: ['--monitor-window-seconds', '3600'] });
    ws = await NotebookClient.connect(service);
    rest = new RestClient(service);
    const model = await ws.call({ type: 'get_model', model: 'strict' });
    expect(model.model.deployment.integrity_policy.out_of_range).toBe('refuse');
    expect((await rest.infer('strict', [age([500]), city(['paris'])])).status).toBe(400);
  });
});
