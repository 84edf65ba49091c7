/**
 * A model's signature as the notebook reads it: the service's (inputs and outputs with
 * datatypes and shapes) plus what the outputs mean — task, class labels, which output holds
 * labels, scores or values — read from the ONNX file itself the way the Python bridge reads
 * an ONNX model (python-bridge/nbdeploy/exporters/onnx_models.py): nbdeploy's own
 * `nbdeploy.*` metadata_props when nbdeploy exported it, else the outputs' names and types.
 * The shape is the Python bridge's, so a model registered from TypeScript predicts, validates
 * and monitors the same from Python and from the extension.
 */
import onnxProto from 'onnx-proto';
import type { Datatype } from '../protocol/datatypes.js';
import type { Signature as ServiceSignature, TensorSpec } from '../runtime/signature.js';
import { InputError } from './errors.js';

export type Task = 'classification' | 'regression';
export type ClassLabel = number | string;

export interface InputSpec {
  name: string;
  datatype: Datatype;
  /** -1 for free dimensions (the rows). */
  shape: number[];
  /** Known levels of a categorical (BYTES) input, when the exporter recorded them. */
  categories: string[] | null;
}

/** nbdeploy's signature of a model (the same fields as the Python bridge's). */
export interface ModelSignature {
  /** "matrix": one input [N, F] holding every feature; "columns": one input [N, 1] per feature. */
  layout: 'matrix' | 'columns';
  inputs: InputSpec[];
  outputs: string[];
  feature_names: string[] | null;
  task: Task;
  classes: ClassLabel[] | null;
  label_output: string | null;
  scores_output: string | null;
  value_output: string | null;
  library: string;
}

export interface SignatureOptions {
  /** Class labels in the order of the scores' columns (default: the model's own, else 0…k-1). */
  classes?: ClassLabel[];
  /** Feature names of a matrix model's columns (default: the records' keys, else x0…). */
  featureNames?: string[];
  /** Overrides what the outputs suggest. */
  task?: Task;
}

const { onnx } = onnxProto;

interface OnnxFacts {
  metadata: Record<string, unknown>;
  /** Class labels found on a classifier node (ai.onnx.ml), in score-column order. */
  nodeClasses: ClassLabel[] | null;
}

function readOnnx(bytes: Uint8Array): OnnxFacts {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InputError(`the bytes are not an ONNX model (${(error as Error).message})`);
  }
  const metadata: Record<string, unknown> = {};
  for (const prop of model.metadataProps) {
    if (!prop.key?.startsWith('nbdeploy.')) continue;
    try {
      metadata[prop.key.slice('nbdeploy.'.length)] = JSON.parse(prop.value ?? 'null');
    } catch {
      // not nbdeploy's JSON: ignore, as the Python bridge would fail to read it too
    }
  }
  let nodeClasses: ClassLabel[] | null = null;
  for (const node of model.graph?.node ?? []) {
    for (const attr of node.attribute ?? []) {
      if (attr.name === 'classlabels_int64s' || attr.name === 'classlabels_ints') {
        nodeClasses = (attr.ints ?? []).map((v) => Number(v));
      } else if (attr.name === 'classlabels_strings') {
        nodeClasses = (attr.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
      }
    }
  }
  return { metadata, nodeClasses };
}

const first = <T>(items: readonly T[], test: (item: T) => boolean): T | null => items.find(test) ?? null;

/** The signature of an ONNX model the service registered (`service` is its reply's signature). */
export function readSignature(bytes: Uint8Array, service: ServiceSignature, options: SignatureOptions = {}): ModelSignature {
  const { metadata, nodeClasses } = readOnnx(bytes);
  const outputs = service.outputs;
  const label = first(outputs, (o) => o.name === 'label') ?? first(outputs, (o) => o.datatype === 'INT64' || o.datatype === 'BYTES');
  const scores: TensorSpec | null =
    first(outputs, (o) => o.name === 'probabilities') ??
    (label ? first(outputs, (o) => o !== label && o.datatype.startsWith('FP') && o.shape.length === 2) : null);
  const task: Task =
    options.task ?? (metadata.task === 'classification' || metadata.task === 'regression' ? metadata.task : label || scores ? 'classification' : 'regression');
  const value = task === 'regression' ? (first(outputs, (o) => o.name === 'prediction' || o.name === 'variable') ?? outputs[0] ?? null) : null;
  let classes: ClassLabel[] | null = null;
  if (task === 'classification') {
    const width = scores && scores.shape.length === 2 && scores.shape[1]! > 0 ? scores.shape[1]! : null;
    classes =
      options.classes ??
      (Array.isArray(metadata.classes) ? (metadata.classes as ClassLabel[]) : null) ??
      nodeClasses ??
      (width !== null ? Array.from({ length: width }, (_, i) => i) : null);
    if (!classes) {
      throw new InputError(
        'cannot tell the class labels of this classifier from the ONNX file: pass them, e.g. nd.register(file, { name, classes: [0, 1] })'
      );
    }
    if (width !== null && classes.length !== width) {
      throw new InputError(`the model scores ${width} classes but ${classes.length} class labels were given (${JSON.stringify(classes)})`);
    }
  }
  const categories = (metadata.categories ?? {}) as Record<string, string[] | undefined>;
  const inputs: InputSpec[] = service.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, categories: categories[i.name] ?? null }));
  const byColumn = inputs.length > 1 && inputs.every((i) => i.shape.length === 2 && i.shape[1] === 1);
  const width = inputs.length === 1 && inputs[0]!.shape.length === 2 ? inputs[0]!.shape[1]! : -1;
  let featureNames: string[] | null = byColumn ? inputs.map((i) => i.name) : null;
  if (!byColumn && options.featureNames) {
    if (width > 0 && options.featureNames.length !== width) {
      throw new InputError(`the model's input "${inputs[0]!.name}" takes ${width} features but ${options.featureNames.length} feature names were given`);
    }
    featureNames = [...options.featureNames];
  } else if (!byColumn && width > 0) {
    featureNames = Array.from({ length: width }, (_, i) => `x${i}`);
  }
  return {
    layout: byColumn ? 'columns' : 'matrix',
    inputs,
    outputs: outputs.map((o) => o.name),
    feature_names: featureNames,
    task,
    classes,
    label_output: task === 'classification' && label ? label.name : null,
    scores_output: task === 'classification' && scores ? scores.name : null,
    value_output: value ? value.name : null,
    library: typeof metadata.library === 'string' ? metadata.library : 'onnx'
  };
}
