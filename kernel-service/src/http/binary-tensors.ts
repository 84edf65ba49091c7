/**
 * Triton's binary tensor data extension on the REST infer route, which `tritonclient.http`
 * uses by default: the body is a JSON header of `Inference-Header-Content-Length` bytes,
 * then the elements of each input that says `parameters.binary_data_size`, one input after
 * another in header order (little-endian raw elements, BOOL one byte each, FP16 as IEEE
 * half bits, BYTES as a 4-byte little-endian length then the bytes, per element — the same
 * layout as the `/ws` binary frames, see datatypes.ts). Outputs come back the same way when
 * asked: request parameter `binary_data_output`, or per output `parameters.binary_data`.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { ServiceError } from '../errors.js';
import { decodeJsonInput, type RequestTensor } from '../serving/admission.js';
import { type Tensor, tensorFromExactBytes, tensorToBytes, tensorToJsonText } from '../protocol/datatypes.js';
import { HttpInferRequest, describeIssues } from '../protocol/oip.js';
import type { InferInput, InferResult } from '../serving/data-plane.js';

/** The header (lower case, as node:http gives it) that says how long the JSON part is. */
export const INFERENCE_HEADER = 'inference-header-content-length';

/**
 * The body as sent before compression: tritonclient compresses requests with gzip or deflate
 * when asked (`request_compression_algorithm`). What it inflates to is held to `limit` too.
 */
export function decodeContent(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return body;
  if (name !== 'gzip' && name !== 'deflate') {
    throw badRequest(`Content-Encoding "${encoding}" is not supported; send gzip, deflate or an uncompressed body`);
  }
  try {
    return name === 'gzip' ? gunzipSync(body, { maxOutputLength: limit }) : inflateSync(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ServiceError('NBD_ERR_BODY_TOO_LARGE', { size: `more than ${limit} once inflated`, limit });
    }
    throw badRequest(`the body is not ${name} data (Content-Encoding: ${encoding}): ${(error as Error).message}`);
  }
}

/** An infer request read from an HTTP body, ready for the data plane. */
export interface HttpInfer {
  request: InferInput;
  /** Whether an output goes back as binary data after the JSON. */
  binaryOutput(name: string): boolean;
}

/** Reads an infer body: JSON alone, or (with the header) the JSON header and binary tensor data. */
export function parseInferBody(body: Buffer, headerLength: string | string[] | undefined): HttpInfer {
  let json = body;
  let binary: Buffer | null = null;
  if (headerLength !== undefined) {
    const text = Array.isArray(headerLength) ? headerLength.join(',') : headerLength;
    if (!/^\d+$/.test(text.trim())) {
      throw badRequest(`Inference-Header-Content-Length must be the JSON header's length in bytes, got "${text}"`);
    }
    const length = Number(text.trim());
    if (length > body.length) {
      throw badRequest(`Inference-Header-Content-Length is ${length} but the body has only ${body.length} bytes`);
    }
    json = body.subarray(0, length);
    binary = body.subarray(length);
  }
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    const where = binary ? ' (the first Inference-Header-Content-Length bytes of the body)' : '';
    throw new ServiceError('NBD_ERR_BAD_JSON', { reason: `${(error as Error).message}${where}` });
  }
  const parsed = HttpInferRequest.safeParse(value);
  if (!parsed.success) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: describeIssues(parsed.error) });
  const message = parsed.data;

  const inputs: RequestTensor[] = [];
  let offset = 0;
  for (const [index, input] of message.inputs.entries()) {
    const { name, datatype, shape } = input;
    const parameters = input.parameters ?? {};
    if (parameters.shared_memory_region !== undefined) {
      throw inputError(name, 'shared memory (parameters.shared_memory_region) is not supported; send the data in "data" or as binary data');
    }
    const size = parameters.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) {
        throw badRequest(`inputs[${index}].data: input "${name}" has neither "data" nor parameters.binary_data_size`);
      }
      inputs.push(decodeJsonInput(name, datatype, shape, input.data));
      continue;
    }
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw inputError(name, `parameters.binary_data_size must be a byte count, got ${JSON.stringify(size)}`);
    }
    if (input.data !== undefined) throw inputError(name, 'both "data" and parameters.binary_data_size are given; send its elements one way');
    if (binary === null) {
      throw inputError(name, 'parameters.binary_data_size is given but the request has no Inference-Header-Content-Length header to say where the JSON ends');
    }
    if (offset + size > binary.length) {
      throw inputError(
        name,
        `parameters.binary_data_size is ${size} bytes but only ${binary.length - offset} bytes of binary data are left after the inputs before it ` +
          `(${binary.length} bytes follow the JSON header)`
      );
    }
    inputs.push(tensorFromExactBytes(name, datatype, shape, binary.subarray(offset, offset + size), 'parameters.binary_data_size'));
    offset += size;
  }
  if (binary !== null && offset !== binary.length) {
    throw badRequest(
      `${binary.length} bytes follow the JSON header but the inputs' parameters.binary_data_size add up to ${offset}`
    );
  }

  const requestBinary = message.parameters?.binary_data_output;
  if (requestBinary !== undefined && typeof requestBinary !== 'boolean') {
    throw badRequest(`parameters.binary_data_output must be true or false, got ${JSON.stringify(requestBinary)}`);
  }
  const binaryOutputs = new Map<string, boolean>();
  for (const output of message.outputs ?? []) {
    const parameters = output.parameters ?? {};
    for (const unsupported of ['classification', 'shared_memory_region']) {
      if (parameters[unsupported] !== undefined) {
        throw badRequest(`output "${output.name}": parameters.${unsupported} is not supported`);
      }
    }
    const wanted = parameters.binary_data;
    if (wanted !== undefined && typeof wanted !== 'boolean') {
      throw badRequest(`output "${output.name}": parameters.binary_data must be true or false, got ${JSON.stringify(wanted)}`);
    }
    if (wanted !== undefined) binaryOutputs.set(output.name, wanted);
  }
  return {
    request: {
      id: message.id,
      inputs,
      outputs: message.outputs?.map((o) => ({ name: o.name })),
      monitor: message.parameters?.monitor !== false
    },
    // An output's own `binary_data` wins over the request's `binary_data_output`.
    binaryOutput: (name) => binaryOutputs.get(name) ?? requestBinary ?? false
  };
}

/** The response body and its headers: JSON text, or the JSON header followed by binary outputs. */
export function inferResponseBody(result: InferResult, binaryOutput: (name: string) => boolean): { body: string | Buffer; headers: Record<string, string> } {
  const parts: Buffer[] = [];
  const outputs = result.outputs.map((tensor) => {
    if (!binaryOutput(tensor.name)) return tensorToJsonText(tensor);
    const bytes = tensorToBytes(tensor);
    parts.push(bytes);
    return binaryTensorHeader(tensor, bytes.length);
  });
  const json =
    `{"model_name":${JSON.stringify(result.modelName)},"model_version":"${result.modelVersion}",` +
    `"id":${JSON.stringify(result.id)},"outputs":[${outputs.join(',')}]}`;
  if (parts.length === 0) return { body: json, headers: { 'content-type': 'application/json' } };
  const header = Buffer.from(json, 'utf8');
  return {
    body: Buffer.concat([header, ...parts]),
    headers: { 'content-type': 'application/octet-stream', [INFERENCE_HEADER]: String(header.length) }
  };
}

function binaryTensorHeader(tensor: Tensor, size: number): string {
  return (
    `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}",` +
    `"shape":[${tensor.shape.join(',')}],"parameters":{"binary_data_size":${size}}}`
  );
}

function inputError(name: string, reason: string): ServiceError {
  return new ServiceError('NBD_ERR_INPUT_DATA', { name, reason });
}

function badRequest(issues: string): ServiceError {
  return new ServiceError('NBD_ERR_BAD_REQUEST', { issues });
}
