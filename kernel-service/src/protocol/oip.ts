/**
 * Open Inference Protocol v2 (KServe / Triton / MLServer) request shapes, as zod schemas.
 * Responses are written as text by the data plane (see datatypes.ts for why).
 */
import { z } from 'zod';
import { MAX_INSTANCES } from '../registry/registry.js';
import { DATATYPES } from './datatypes.js';

export const Parameters = z.record(z.string(), z.unknown());
export type Parameters = z.infer<typeof Parameters>;

export const Dimension = z.number().int().nonnegative();

export const RequestInput = z.strictObject({
  name: z.string().min(1),
  shape: z.array(Dimension),
  datatype: z.enum(DATATYPES),
  parameters: Parameters.optional(),
  data: z.array(z.unknown())
});
export type RequestInput = z.infer<typeof RequestInput>;

export const RequestOutput = z.strictObject({
  name: z.string().min(1),
  parameters: Parameters.optional()
});
export type RequestOutput = z.infer<typeof RequestOutput>;

export const InferRequest = z.strictObject({
  id: z.string().max(256).optional(),
  parameters: Parameters.optional(),
  inputs: z.array(RequestInput).min(1),
  outputs: z.array(RequestOutput).optional()
});
export type InferRequest = z.infer<typeof InferRequest>;

/**
 * An input of an HTTP request: with Triton's binary tensor extension its elements follow the
 * JSON instead of `data` (`parameters.binary_data_size` says how many bytes they take).
 */
export const HttpRequestInput = RequestInput.extend({ data: z.array(z.unknown()).optional() });
export type HttpRequestInput = z.infer<typeof HttpRequestInput>;

export const HttpInferRequest = InferRequest.extend({ inputs: z.array(HttpRequestInput).min(1) });
export type HttpInferRequest = z.infer<typeof HttpInferRequest>;

/**
 * Triton's model-repository `load` body. `file:<version>/<path>` parameters carry base64
 * file contents (the ONNX model as `file:1/model.onnx`, external data beside it);
 * `config` is a JSON string (Triton's config in JSON form: max_batch_size, dynamic_batching).
 */
export const RepositoryLoadRequest = z.strictObject({
  parameters: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
});
export type RepositoryLoadRequest = z.infer<typeof RepositoryLoadRequest>;

export const RepositoryIndexRequest = z.strictObject({
  repository_name: z.string().optional(),
  ready: z.boolean().optional()
});
export type RepositoryIndexRequest = z.infer<typeof RepositoryIndexRequest>;

/** Triton's model configuration fields that nbdeploy honours. */
export const ModelConfig = z.looseObject({
  max_batch_size: z.number().int().nonnegative().optional(),
  dynamic_batching: z
    .looseObject({
      max_queue_delay_microseconds: z.number().int().nonnegative().optional(),
      preferred_batch_size: z.array(z.number().int().positive()).optional(),
      default_queue_policy: z.looseObject({ max_queue_size: z.number().int().min(1).max(1_000_000).optional() }).optional()
    })
    .optional(),
  /** Instances of the model: their counts add up (nbdeploy runs every instance on CPU). */
  instance_group: z.array(z.looseObject({ count: z.number().int().min(1).max(MAX_INSTANCES).optional() })).optional(),
  parameters: Parameters.optional()
});
export type ModelConfig = z.infer<typeof ModelConfig>;

/** zod issues as one line that names each offending field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}
