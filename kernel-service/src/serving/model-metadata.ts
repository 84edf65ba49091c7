/**
 * What the OIP metadata and readiness calls answer, the same on every transport (REST and
 * gRPC): the server's metadata, a model's metadata and whether it answers requests now.
 */
import { ServiceError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { VERSION } from '../version.js';
import { type ModelServer, newestServable } from './model-server.js';

/** Protocol extensions the service implements (`binary_tensor_data` is REST's). */
export const SERVER_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'metrics', 'nbdeploy_ws'] as const;

export function serverMetadata(): { name: string; version: string; extensions: string[] } {
  return { name: 'nbdeploy', version: VERSION, extensions: [...SERVER_EXTENSIONS] };
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 for a free dimension. */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: 'onnxruntime_onnx';
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters: { version: string; stage: string; sha256: string };
}

/** A version as a path or message gives it (absent or empty: none); anything else but 1, 2, … is not found. */
export function parseVersion(model: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version: JSON.stringify(raw) });
  }
  return version;
}

/** A version's metadata; without a version, the production version's (else the newest served). */
export async function modelMetadata(registry: Registry, model: string, version: number | undefined): Promise<ModelMetadata> {
  const summary = await registry.getModel(model);
  if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
  const record =
    version !== undefined
      ? summary.versions.find((r) => r.version === version)
      : summary.versions.find((r) => r.version === summary.deployment.production) ?? newestServable(summary) ?? summary.versions.at(-1);
  if (!record) throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version: version ?? '' });
  const tensor = (t: TensorMetadata): TensorMetadata => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: model,
    versions: version !== undefined ? [String(version)] : summary.versions.filter((r) => r.stage !== 'archived').map((r) => String(r.version)),
    platform: 'onnxruntime_onnx',
    inputs: record.signature.inputs.map(tensor),
    outputs: record.signature.outputs.map(tensor),
    parameters: { version: String(record.version), stage: record.stage, sha256: record.sha256 }
  };
}

/** Whether the model (or that version) answers requests now; an unknown model is not found. */
export async function isModelReady(registry: Registry, server: ModelServer, model: string, version: number | undefined): Promise<boolean> {
  if (!(await registry.getModel(model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
  return server.isReady(model, version);
}
