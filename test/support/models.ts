/**
 * The ONNX fixtures (test/fixtures/models, see its README) and models derived from them:
 * variants with other bytes (new versions of the same model) and a two-input model.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { ROOT } from './service.js';

const { onnx } = onnxProto;

export const MODELS_DIR = path.join(ROOT, 'test', 'fixtures', 'models');

/** A fixture's bytes, e.g. fixture('iris_classifier.onnx') or fixture('external_ok/weights.bin'). */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(MODELS_DIR, name));
}

/** A fixture's JSON, e.g. the expected outputs beside a model. */
export function fixtureJson<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.join(MODELS_DIR, name), 'utf8')) as T;
}

/**
 * The same model with other bytes (its doc_string says `tag`): registering it makes a new
 * version that computes exactly what the original computes.
 */
export function variant(bytes: Uint8Array, tag: string): Buffer {
  const model = onnx.ModelProto.decode(bytes);
  model.docString = `nbdeploy integration test variant ${tag}`;
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function floatInput(name: string, width: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } }
  };
}

/** `y = a + b` with inputs `a`, `b` and output `y`, all FP32 [N, 2]: a model with two inputs. */
export function twoInputModel(): Buffer {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nbdeploy-integration-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'add',
      node: [{ opType: 'Add', input: ['a', 'b'], output: ['y'], name: 'add' }],
      input: [floatInput('a', 2), floatInput('b', 2)],
      output: [floatInput('y', 2)]
    }
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

/** A column of a `columnModel`: FP32 or string, [N, 1]. */
export type ColumnType = 'FP32' | 'BYTES';

/**
 * A small ONNX graph over [N, 1] columns, written in the test that uses it: the inputs and
 * outputs by name and type, the nodes, and any FP32 scalar constants. `tag` goes into the
 * doc string (other bytes, the same model: a new version).
 */
export function columnModel(spec: {
  name: string;
  inputs: Record<string, ColumnType>;
  outputs: Record<string, ColumnType>;
  nodes: onnxProto.onnx.INodeProto[];
  constants?: Record<string, number>;
  tag?: string;
}): Buffer {
  const { FLOAT, STRING } = onnx.TensorProto.DataType;
  const columns = (types: Record<string, ColumnType>): onnxProto.onnx.IValueInfoProto[] =>
    Object.entries(types).map(([name, type]) => ({
      name,
      type: { tensorType: { elemType: type === 'FP32' ? FLOAT : STRING, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } } }
    }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nbdeploy-integration-tests',
    ...(spec.tag ? { docString: spec.tag } : {}),
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: spec.name,
      initializer: Object.entries(spec.constants ?? {}).map(([name, value]) => ({ name, dataType: FLOAT, dims: [], floatData: [value] })),
      node: spec.nodes,
      input: columns(spec.inputs),
      output: columns(spec.outputs)
    }
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

/** An FP32 tensor in OIP JSON. */
export function fp32(name: string, rows: number[][]): { name: string; datatype: string; shape: number[]; data: number[] } {
  return { name, datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0], data: rows.flat() };
}

/**
 * The metadata nbdeploy's notebook APIs register the iris classifier with: its signature
 * (task, classes, which output holds what) and a model card. The service's validation reads
 * the version's answers by it.
 */
export const IRIS_METADATA = {
  nbdeploy: {
    signature: {
      layout: 'matrix',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4], categories: null }],
      outputs: ['label', 'probabilities'],
      feature_names: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      task: 'classification',
      classes: [0, 1, 2],
      label_output: 'label',
      scores_output: 'probabilities',
      value_output: null,
      library: 'onnx'
    },
    training_metrics: { accuracy: 0.97 },
    card: { owner: 'integration tests', intended_use: 'testing nbdeploy', training_data: 'iris', personal_data: [] }
  }
};

/** Labelled iris rows (the fixture's expected rows, whose labels the classifier gets right). */
export function irisValidationRows(): { rows: number[][]; labels: number[] } {
  const expected = fixtureJson<{ input: number[][]; label: number[] }>('iris_classifier.expected.json');
  return { rows: expected.input, labels: expected.label };
}
