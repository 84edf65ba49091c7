/**
 * OIP v2 gRPC messages (grpc_predict_v2.proto, as @grpc/proto-loader gives them: snake_case
 * fields, int64 as decimal strings, bytes as Buffers) to and from the data plane's terms.
 *
 * An input's elements are either typed `contents` — the field of its datatype, read as the
 * REST JSON `data` is, so the same checks and integrity coercions apply — or, in input order,
 * `raw_input_contents` (the binary layout of datatypes.ts). The response answers in kind:
 * raw when the request was raw or an output is FP16 (which has no typed field), else typed.
 */
import { ServiceError } from '../errors.js';
import { decodeJsonInput, type RequestTensor } from '../serving/admission.js';
import { DATATYPES, type Datatype, type NumericArray, type Tensor, elementCount, tensorFromExactBytes, tensorToBytes } from '../protocol/datatypes.js';
import type { InferInput, InferResult } from '../serving/data-plane.js';

export interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
}

export interface TensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

type ContentsField = keyof TensorContents;

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  inputs: Array<{ name: string; datatype: string; shape: string[]; parameters: Record<string, InferParameter>; contents: TensorContents | null }>;
  outputs: Array<{ name: string; parameters: Record<string, InferParameter> }>;
  raw_input_contents: Buffer[];
}

interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: Partial<Record<ContentsField, unknown[]>>;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  raw_output_contents: Buffer[];
}

/** The typed field that holds each datatype's elements; FP16 has none (raw only). */
const CONTENTS_FIELD: Record<Datatype, ContentsField | null> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents'
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents'
];

export interface GrpcInfer {
  request: InferInput;
  /** Whether the response carries its outputs in `raw_output_contents`. */
  raw: boolean;
}

/** Reads a ModelInferRequest; what does not add up is refused naming the field or input. */
export function readInferRequest(message: ModelInferRequest): GrpcInfer {
  if (message.inputs.length === 0) throw badRequest('inputs: give at least one input');
  if (message.id.length > 256) throw badRequest(`id: at most 256 characters, got ${message.id.length}`);
  const raw = message.raw_input_contents;
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw badRequest(`raw_input_contents has ${raw.length} entries for ${message.inputs.length} inputs; give one per input, in input order, or none`);
  }
  const inputs: RequestTensor[] = message.inputs.map((input, index) => {
    const { name } = input;
    if (!name) throw badRequest(`inputs[${index}].name is empty`);
    if (!(DATATYPES as readonly string[]).includes(input.datatype)) {
      throw badRequest(`inputs[${index}].datatype: input "${name}" has datatype "${input.datatype}"; expected one of ${DATATYPES.join(', ')}`);
    }
    const datatype = input.datatype as Datatype;
    const shape = input.shape.map(Number);
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw badRequest(`inputs[${index}].shape: input "${name}" has shape [${input.shape.join(', ')}]; dimensions are 0 or more`);
    }
    const filled = input.contents ? CONTENTS_FIELDS.filter((f) => input.contents![f].length > 0) : [];
    if (raw.length > 0) {
      if (filled.length > 0) throw inputError(name, `has contents.${filled[0]} and raw_input_contents[${index}]; send its elements one way`);
      return tensorFromExactBytes(name, datatype, shape, raw[index]!, `raw_input_contents[${index}]`);
    }
    return typedInput(name, datatype, shape, input.contents, filled);
  });
  const monitor = message.parameters.monitor;
  return {
    request: {
      id: message.id || undefined,
      inputs,
      outputs: message.outputs.length > 0 ? message.outputs.map((o) => ({ name: o.name })) : undefined,
      monitor: !(monitor?.parameter_choice === 'bool_param' && monitor.bool_param === false)
    },
    raw: raw.length > 0
  };
}

function typedInput(name: string, datatype: Datatype, shape: number[], contents: TensorContents | null, filled: ContentsField[]): RequestTensor {
  const field = CONTENTS_FIELD[datatype];
  if (field === null) throw inputError(name, `${datatype} has no typed contents field; send its elements in raw_input_contents`);
  const wrong = filled.find((f) => f !== field);
  if (wrong !== undefined) throw inputError(name, `datatype ${datatype} takes its elements in contents.${field}, not contents.${wrong}`);
  if (!contents && elementCount(shape) > 0) {
    throw inputError(name, `has no contents and the request has no raw_input_contents; send its elements in contents.${field}`);
  }
  const values: unknown[] = contents ? contents[field] : [];
  // Read as REST reads JSON data: range checks, and values that do not fit go to integrity.
  return decodeJsonInput(name, datatype, shape, field === 'bytes_contents' ? (values as Buffer[]).map((b) => b.toString('utf8')) : values);
}

/** The ModelInferResponse of a result, raw or typed as `raw` says (FP16 outputs make it raw). */
export function inferResponse(result: InferResult, raw: boolean): ModelInferResponse {
  const asRaw = raw || result.outputs.some((o) => CONTENTS_FIELD[o.datatype] === null);
  return {
    model_name: result.modelName,
    model_version: String(result.modelVersion),
    id: result.id,
    outputs: result.outputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      ...(asRaw ? {} : { contents: { [CONTENTS_FIELD[t.datatype]!]: typedValues(t) } })
    })),
    raw_output_contents: asRaw ? result.outputs.map(tensorToBytes) : []
  };
}

function typedValues(tensor: Tensor): unknown[] {
  switch (tensor.datatype) {
    case 'BOOL':
      return Array.from(tensor.data as Uint8Array, (v) => v !== 0);
    case 'BYTES':
      return (tensor.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    case 'INT64':
    case 'UINT64':
      // Decimal strings: protobufjs writes them as exact 64-bit integers.
      return Array.from(tensor.data as BigInt64Array | BigUint64Array, (v) => v.toString());
    default:
      return Array.from(tensor.data as Exclude<NumericArray, BigInt64Array | BigUint64Array>);
  }
}

function inputError(name: string, reason: string): ServiceError {
  return new ServiceError('NBD_ERR_INPUT_DATA', { name, reason });
}

function badRequest(issues: string): ServiceError {
  return new ServiceError('NBD_ERR_BAD_REQUEST', { issues });
}
