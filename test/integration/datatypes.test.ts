import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../support/http.js';
import { fixture, fixtureJson } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { DATATYPES, SAMPLES, fromJson, modelOf, registerIdentityModels, shapeOf } from '../support/samples.js';
import { decodeOutputs, encodeTensor, parseExactJson, sameValues } from '../support/tensors.js';

let service: ServiceProcess;
let rest: RestClient;
let ws: NotebookClient;

beforeAll(async () => {
  service = await startService();
  rest = new RestClient(service);
  await registerIdentityModels(rest);
  await rest.register('iris', { 'model.onnx': fixture('iris_classifier.onnx') });
  await rest.register('diabetes', { 'model.onnx': fixture('diabetes_regressor.onnx') });
  ws = await NotebookClient.connect(service);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

describe('OIP datatypes over HTTP JSON', () => {
  it.each(DATATYPES)('should round-trip %s through its identity model', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.json);
    // Written by hand: JSON.stringify would turn -0 into 0.
    const data = sample.json.map((v) => (Object.is(v, -0) ? '-0' : JSON.stringify(v))).join(',');
    const text = `{"inputs":[{"name":"x","datatype":"${datatype}","shape":[${shape.join(',')}],"data":[${data}]}]}`;
    const res = await rest.post(`/v2/models/${modelOf(datatype)}/infer`, text);
    expect(res.status, res.text).toBe(200);
    const body = parseExactJson(res.text);
    expect(body.model_name).toBe(modelOf(datatype));
    expect(body.model_version).toBe('1');
    expect(body.outputs).toHaveLength(1);
    const [y] = body.outputs;
    expect(y.name).toBe('y');
    expect(y.datatype).toBe(datatype);
    expect(y.shape).toEqual(shape);
    const back = (y.data as unknown[]).map((v) => fromJson(datatype, v));
    expect(sameValues(back, sample.expected), `${JSON.stringify(back, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`).toBe(true);
  });

  it('should write non-finite floats as the strings "NaN", "Infinity" and "-Infinity"', async () => {
    for (const datatype of ['FP16', 'FP32', 'FP64'] as const) {
      const res = await rest.infer(modelOf(datatype), [{ name: 'x', datatype, shape: [1, 3], data: ['NaN', 'Infinity', '-Infinity'] }]);
      expect(res.status, res.text).toBe(200);
      expect(res.json().outputs[0].data).toEqual(['NaN', 'Infinity', '-Infinity']);
    }
  });

  it('should write every digit of 64-bit integers beyond 2^53', async () => {
    const res = await rest.infer('identity_int64', [
      { name: 'x', datatype: 'INT64', shape: [1, 3], data: ['9223372036854775807', '-9007199254740993', 9007199254740991] }
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('[9223372036854775807,-9007199254740993,9007199254740991]');
  });

  it('should accept nested row-major data as well as flat data', async () => {
    const res = await rest.infer('identity_int32', [{ name: 'x', datatype: 'INT32', shape: [2, 3], data: [[1, 2, 3], [4, 5, 6]] }]);
    expect(res.status, res.text).toBe(200);
    expect(res.json().outputs[0].data).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('OIP datatypes over WebSocket binary frames', () => {
  it.each(DATATYPES)('should round-trip %s exactly through its identity model', async (datatype) => {
    const sample = SAMPLES[datatype];
    const shape = shapeOf(sample.binary);
    const reply = await ws.callBinary(
      { type: 'infer', model: modelOf(datatype), inputs: [{ name: 'x', datatype, shape }] },
      [encodeTensor(datatype, sample.binary)]
    );
    expect(reply.type).toBe('infer_result');
    expect(reply.model_name).toBe(modelOf(datatype));
    expect(reply.model_version).toBe(1);
    expect(reply.payload).toBeInstanceOf(Buffer);
    expect(reply.outputs).toEqual([{ name: 'y', datatype, shape }]);
    const back = decodeOutputs(reply.outputs, reply.payload!).get('y')!;
    expect(sameValues(back, sample.expected), `${JSON.stringify(back, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`).toBe(true);
  });

  it('should carry a tensor of zero rows', async () => {
    const reply = await ws.callBinary(
      { type: 'infer', model: 'identity_fp32', inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 3] }] },
      []
    );
    expect(reply.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [0, 3] }]);
    expect(reply.payload!.length).toBe(0);
  });
});

interface IrisExpected {
  input: number[][];
  label: number[];
  probabilities: number[][];
  atol: number;
}

interface RegressorExpected {
  input: number[][];
  prediction: number[][];
  rtol: number;
}

describe('real models', () => {
  const iris = fixtureJson<IrisExpected>('iris_classifier.expected.json');
  const diabetes = fixtureJson<RegressorExpected>('diabetes_regressor.expected.json');

  it('should classify iris rows as sklearn does, over HTTP', async () => {
    const res = await rest.infer('iris', [{ name: 'input', datatype: 'FP32', shape: [iris.input.length, 4], data: iris.input }]);
    expect(res.status, res.text).toBe(200);
    const outputs = new Map<string, { datatype: string; shape: number[]; data: number[] }>(res.json().outputs.map((o: any) => [o.name, o]));
    expect(outputs.get('label')).toMatchObject({ datatype: 'INT64', shape: [iris.input.length], data: iris.label });
    const probabilities = outputs.get('probabilities')!;
    expect(probabilities.datatype).toBe('FP32');
    expect(probabilities.shape).toEqual([iris.input.length, 3]);
    probabilities.data.forEach((p, i) => expect(Math.abs(p - iris.probabilities.flat()[i]!)).toBeLessThanOrEqual(iris.atol));
  });

  it('should classify iris rows as sklearn does, over WebSocket binary frames', async () => {
    const reply = await ws.callBinary(
      { type: 'infer', model: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [iris.input.length, 4] }] },
      [encodeTensor('FP32', iris.input.flat())]
    );
    const outputs = decodeOutputs(reply.outputs, reply.payload!);
    expect(outputs.get('label')).toEqual(iris.label.map(BigInt));
    const probabilities = outputs.get('probabilities') as number[];
    probabilities.forEach((p, i) => expect(Math.abs(p - iris.probabilities.flat()[i]!)).toBeLessThanOrEqual(iris.atol));
  });

  it('should return only the requested output', async () => {
    const res = await rest.infer('iris', [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: iris.input[0]! }], undefined, {
      id: 'one-output',
      outputs: [{ name: 'label' }]
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json()).toEqual({
      model_name: 'iris',
      model_version: '1',
      id: 'one-output',
      outputs: [{ name: 'label', datatype: 'INT64', shape: [1], data: [iris.label[0]] }]
    });
  });

  it('should predict as the sklearn regressor does', async () => {
    const res = await rest.infer('diabetes', [{ name: 'input', datatype: 'FP32', shape: [diabetes.input.length, 10], data: diabetes.input }]);
    expect(res.status, res.text).toBe(200);
    const [prediction] = res.json().outputs;
    expect(prediction).toMatchObject({ name: 'prediction', datatype: 'FP32', shape: [diabetes.input.length, 1] });
    (prediction.data as number[]).forEach((p, i) => {
      const expected = diabetes.prediction[i]![0]!;
      expect(Math.abs(p - expected)).toBeLessThanOrEqual(diabetes.rtol * Math.abs(expected));
    });
  });
});
