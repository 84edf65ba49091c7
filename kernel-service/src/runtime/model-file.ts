/**
 * What the service reads from an ONNX file before onnxruntime sees it: the tensors kept as
 * external data (refused when their location leaves the model's folder or is missing) and
 * the model's metadata properties.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { ServiceError } from '../errors.js';

const { onnx } = onnxProto;
type Graph = onnxProto.onnx.IGraphProto;
type TensorProto = onnxProto.onnx.ITensorProto;

export interface ModelFileInfo {
  /** External data files the model reads, relative to its folder. */
  externalFiles: string[];
  /** The model's metadata_props (exporters put signatures and profiles there). */
  metadata: Record<string, string>;
  producer: string;
  opsets: Record<string, number>;
}

/** Decodes the model's protobuf; a file that is not one gets NBD_ERR_MODEL_INVALID. */
export function readModelFile(bytes: Uint8Array, folder: string): ModelFileInfo {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new ServiceError('NBD_ERR_MODEL_INVALID', {
      reason: `the bytes are not an ONNX model (${(error as Error).message})`
    });
  }
  if (!model.graph) {
    throw new ServiceError('NBD_ERR_MODEL_INVALID', { reason: 'the model has no graph' });
  }
  const externalFiles = new Set<string>();
  for (const tensor of tensorsOf(model.graph)) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = tensor.externalData?.find((e) => e.key === 'location')?.value ?? '';
    externalFiles.add(checkLocation(tensor.name ?? '', location, folder));
  }
  const metadata: Record<string, string> = {};
  for (const prop of model.metadataProps) {
    if (prop.key) metadata[prop.key] = prop.value ?? '';
  }
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) {
    opsets[o.domain || 'ai.onnx'] = Number(o.version);
  }
  return { externalFiles: [...externalFiles], metadata, producer: model.producerName ?? '', opsets };
}

function checkLocation(tensorName: string, location: string, folder: string): string {
  const refuse = (reason: string): never => {
    throw new ServiceError('NBD_ERR_MODEL_EXTERNAL_DATA', { tensor: tensorName, location, reason });
  };
  if (!location) refuse('is empty');
  if (path.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) refuse("is an absolute path outside the model's folder");
  const root = path.resolve(folder);
  const resolved = path.resolve(root, location);
  if (!resolved.startsWith(root + path.sep)) refuse("leaves the model's folder");
  if (!existsSync(resolved)) refuse("was not given: send it beside the model (file:1/<name>)");
  return path.relative(root, resolved);
}

/** Every tensor in the graph, its nodes' attributes and its subgraphs. */
function* tensorsOf(graph: Graph): Generator<TensorProto> {
  yield* graph.initializer ?? [];
  for (const sparse of graph.sparseInitializer ?? []) {
    if (sparse.values) yield sparse.values;
    if (sparse.indices) yield sparse.indices;
  }
  for (const node of graph.node ?? []) {
    for (const attr of node.attribute ?? []) {
      if (attr.t) yield attr.t;
      yield* attr.tensors ?? [];
      if (attr.g) yield* tensorsOf(attr.g);
      for (const g of attr.graphs ?? []) yield* tensorsOf(g);
    }
  }
}
