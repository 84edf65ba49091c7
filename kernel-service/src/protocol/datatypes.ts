/**
 * Open Inference Protocol datatypes and the tensors that carry them.
 *
 * A `Tensor` is the transport-free form every part of the service works with: REST JSON,
 * WebSocket JSON and WebSocket binary frames all decode into it, and onnxruntime tensors
 * are made from it. BOOL is held as bytes (0/1), FP16 as its raw 16-bit patterns, BYTES as
 * UTF-8 strings (onnxruntime's string tensors), 64-bit integers as BigInt arrays.
 */
import { Float16Array } from '@petamoriken/float16';
import { ServiceError } from '../errors.js';

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES'
] as const;

export type Datatype = (typeof DATATYPES)[number];

/** onnxruntime's names for the same element types. */
export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

export type TensorData = NumericArray | string[];

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

type ArrayConstructorOf = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

interface DatatypeInfo {
  ort: OrtType;
  /** The typed array that holds the elements; null for BYTES. */
  array: ArrayConstructorOf | null;
  /** Integer range accepted from JSON, for the non-64-bit integer types. */
  range?: [number, number];
}

export const DATATYPE_INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { ort: 'bool', array: Uint8Array },
  UINT8: { ort: 'uint8', array: Uint8Array, range: [0, 255] },
  UINT16: { ort: 'uint16', array: Uint16Array, range: [0, 65535] },
  UINT32: { ort: 'uint32', array: Uint32Array, range: [0, 4294967295] },
  UINT64: { ort: 'uint64', array: BigUint64Array },
  INT8: { ort: 'int8', array: Int8Array, range: [-128, 127] },
  INT16: { ort: 'int16', array: Int16Array, range: [-32768, 32767] },
  INT32: { ort: 'int32', array: Int32Array, range: [-2147483648, 2147483647] },
  INT64: { ort: 'int64', array: BigInt64Array },
  FP16: { ort: 'float16', array: Uint16Array },
  FP32: { ort: 'float32', array: Float32Array },
  FP64: { ort: 'float64', array: Float64Array },
  BYTES: { ort: 'string', array: null }
};

const DATATYPE_OF_ORT = new Map<string, Datatype>(
  DATATYPES.map((d) => [DATATYPE_INFO[d].ort, d] as const)
);

export function datatypeOfOrt(ortType: string): Datatype | undefined {
  return DATATYPE_OF_ORT.get(ortType);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
  }
  return n;
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/**
 * Builds a tensor from OIP JSON data (flat or nested, row-major). Floats accept the
 * strings "NaN", "Infinity" and "-Infinity" (JSON has no literal for them); 64-bit
 * integers accept decimal strings so that values past 2^53 stay exact.
 */
export function tensorFromJson(name: string, datatype: Datatype, shape: number[], data: unknown[]): Tensor {
  const flat = data.length > 0 && Array.isArray(data[0]) ? (data as unknown[]).flat(Infinity) : data;
  const count = elementCount(shape);
  if (flat.length !== count) {
    throw new ServiceError('NBD_ERR_INPUT_DATA', {
      name,
      reason: `shape [${shape.join(', ')}] holds ${count} elements but data has ${flat.length}`
    });
  }
  const info = DATATYPE_INFO[datatype];
  if (info.array === null) {
    for (let i = 0; i < flat.length; i++) {
      if (typeof flat[i] !== 'string') {
        throw badElement(name, datatype, i, flat[i]);
      }
    }
    return { name, datatype, shape, data: flat as string[] };
  }
  const out = new info.array(count);
  switch (datatype) {
    case 'BOOL':
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') throw badElement(name, datatype, i, v);
        out[i] = v ? 1 : 0;
      }
      break;
    case 'INT64':
    case 'UINT64': {
      const big = out as BigInt64Array | BigUint64Array;
      const [lo, hi] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < count; i++) {
        const v = toBigInt(flat[i]);
        if (v === null || v < lo || v > hi) throw badElement(name, datatype, i, flat[i]);
        big[i] = v;
      }
      break;
    }
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      const floats = datatype === 'FP16' ? new Float16Array(out.buffer) : (out as Float32Array | Float64Array);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v === 'number') floats[i] = v;
        else if (typeof v === 'string' && v in NON_FINITE) floats[i] = NON_FINITE[v]!;
        else throw badElement(name, datatype, i, v);
      }
      break;
    }
    default: {
      const [lo, hi] = info.range!;
      const ints = out as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
          throw badElement(name, datatype, i, v);
        }
        ints[i] = v;
      }
    }
  }
  return { name, datatype, shape, data: out };
}

function toBigInt(v: unknown): bigint | null {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return null;
}

function badElement(name: string, datatype: Datatype, index: number, value: unknown): ServiceError {
  const shown = JSON.stringify(value) ?? String(value);
  const expected =
    datatype === 'BYTES'
      ? 'a string'
      : datatype === 'BOOL'
        ? 'true or false'
        : datatype.startsWith('FP')
          ? 'a number (or "NaN", "Infinity", "-Infinity")'
          : `an integer in the ${datatype} range`;
  return new ServiceError('NBD_ERR_INPUT_DATA', {
    name,
    reason: `element ${index} is ${shown.length > 40 ? shown.slice(0, 40) + '…' : shown}; ${datatype} needs ${expected}`
  });
}

/**
 * The tensor's data as JSON text. Written by hand rather than with JSON.stringify so that
 * NaN and infinities survive (as strings) and 64-bit integers keep every digit.
 */
export function tensorDataToJsonText(tensor: Tensor): string {
  const { data, datatype } = tensor;
  if (datatype === 'BYTES') {
    return JSON.stringify(data);
  }
  if (datatype === 'BOOL') {
    const bytes = data as Uint8Array;
    let text = '[';
    for (let i = 0; i < bytes.length; i++) text += (i ? ',' : '') + (bytes[i] ? 'true' : 'false');
    return text + ']';
  }
  if (datatype === 'INT64' || datatype === 'UINT64' || !datatype.startsWith('FP')) {
    return '[' + (data as NumericArray).join(',') + ']';
  }
  const floats = datatype === 'FP16' ? new Float16Array((data as Uint16Array).buffer, (data as Uint16Array).byteOffset, data.length) : (data as Float32Array | Float64Array);
  let text = '[';
  for (let i = 0; i < floats.length; i++) {
    const v = floats[i]!;
    text += (i ? ',' : '') + (Number.isFinite(v) ? (v === 0 && 1 / v < 0 ? '-0' : String(v)) : `"${v}"`);
  }
  return text + ']';
}

/** The tensor as an OIP JSON tensor object, in text. */
export function tensorToJsonText(tensor: Tensor): string {
  return (
    `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}",` +
    `"shape":[${tensor.shape.join(',')}],"data":${tensorDataToJsonText(tensor)}}`
  );
}

/** Plain JS values of a tensor's data, for tests and for callers that want arrays. */
export function tensorValues(tensor: Tensor): Array<number | bigint | boolean | string> {
  return JSON.parse(tensorDataToJsonText(tensor), (_key, value) =>
    typeof value === 'string' && tensor.datatype !== 'BYTES' ? (NON_FINITE[value] ?? value) : value
  );
}

// --- binary form: raw little-endian elements; BYTES as (u32 LE length, UTF-8 bytes) each ---

/** The tensor's elements as bytes, as in binary WebSocket frames and Triton's binary data. */
export function tensorToBytes(tensor: Tensor): Buffer {
  if (tensor.datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const s of tensor.data as string[]) {
      const body = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(body.length, 0);
      parts.push(len, body);
    }
    return Buffer.concat(parts);
  }
  const arr = tensor.data as NumericArray;
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Decodes `bytes` as a tensor; returns it and how many bytes it used. */
export function tensorFromBytes(
  name: string,
  datatype: Datatype,
  shape: number[],
  bytes: Buffer,
  offset: number
): { tensor: Tensor; used: number } {
  const count = elementCount(shape);
  const info = DATATYPE_INFO[datatype];
  if (info.array === null) {
    const strings: string[] = new Array(count);
    let at = offset;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.length) throw truncated(name, shape);
      const len = bytes.readUInt32LE(at);
      if (at + 4 + len > bytes.length) throw truncated(name, shape);
      strings[i] = bytes.toString('utf8', at + 4, at + 4 + len);
      at += 4 + len;
    }
    return { tensor: { name, datatype, shape, data: strings }, used: at - offset };
  }
  const byteLength = count * info.array.BYTES_PER_ELEMENT;
  if (offset + byteLength > bytes.length) throw truncated(name, shape);
  // Typed arrays need aligned offsets: copy into a fresh buffer (also detaches from the frame).
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(offset, offset + byteLength));
  const data = new info.array(copy.buffer, 0, count);
  return { tensor: { name, datatype, shape, data }, used: byteLength };
}

/**
 * Decodes a tensor that takes exactly `bytes`: Triton's binary data, gRPC raw contents.
 * `what` names where the bytes came from in the error (e.g. "raw_input_contents[0]").
 */
export function tensorFromExactBytes(name: string, datatype: Datatype, shape: number[], bytes: Buffer, what: string): Tensor {
  const count = elementCount(shape);
  const elementSize = DATATYPE_INFO[datatype].array?.BYTES_PER_ELEMENT;
  const dims = `[${shape.join(', ')}]`;
  if (elementSize !== undefined && bytes.length !== count * elementSize) {
    throw new ServiceError('NBD_ERR_INPUT_DATA', { name, reason: `${what} is ${bytes.length} bytes; shape ${dims} of ${datatype} takes ${count * elementSize}` });
  }
  const { tensor, used } = tensorFromBytes(name, datatype, shape, bytes, 0);
  if (used !== bytes.length) {
    throw new ServiceError('NBD_ERR_INPUT_DATA', { name, reason: `${what} is ${bytes.length} bytes but the ${count} BYTES elements of shape ${dims} take ${used}` });
  }
  return tensor;
}

function truncated(name: string, shape: number[]): ServiceError {
  return new ServiceError('NBD_ERR_INPUT_DATA', {
    name,
    reason: `binary payload ends before the ${elementCount(shape)} elements of shape [${shape.join(', ')}]`
  });
}
