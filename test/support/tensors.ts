/**
 * Tensor payloads as the protocol describes them, written independently of the service's
 * encoder: raw little-endian elements (BOOL one byte 0/1, FP16 IEEE half), BYTES as
 * (u32 LE length, UTF-8 bytes) per element. And a JSON parser that keeps 64-bit integers
 * exact, since the service writes every digit.
 */
import { getFloat16, setFloat16 } from '@petamoriken/float16';

export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type Value = boolean | number | bigint | string;

const SIZE: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8
};

/** Encodes values (numbers, bigints for 64-bit integers, booleans, strings) as a binary payload. */
export function encodeTensor(datatype: Datatype, values: readonly Value[]): Buffer {
  if (datatype === 'BYTES') {
    return Buffer.concat(
      values.flatMap((v) => {
        const body = Buffer.from(String(v), 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(body.length, 0);
        return [length, body];
      })
    );
  }
  const size = SIZE[datatype];
  const bytes = Buffer.alloc(values.length * size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  values.forEach((v, i) => {
    const at = i * size;
    switch (datatype) {
      case 'BOOL': return view.setUint8(at, v ? 1 : 0);
      case 'UINT8': return view.setUint8(at, Number(v));
      case 'INT8': return view.setInt8(at, Number(v));
      case 'UINT16': return view.setUint16(at, Number(v), true);
      case 'INT16': return view.setInt16(at, Number(v), true);
      case 'UINT32': return view.setUint32(at, Number(v), true);
      case 'INT32': return view.setInt32(at, Number(v), true);
      case 'UINT64': return view.setBigUint64(at, BigInt(v), true);
      case 'INT64': return view.setBigInt64(at, BigInt(v), true);
      case 'FP16': return setFloat16(view, at, Number(v), true);
      case 'FP32': return view.setFloat32(at, Number(v), true);
      case 'FP64': return view.setFloat64(at, Number(v), true);
    }
  });
  return bytes;
}

/** Decodes `count` elements from `bytes` at `offset`; returns them and the bytes used. */
export function decodeTensor(datatype: Datatype, count: number, bytes: Buffer, offset = 0): { values: Value[]; used: number } {
  const values: Value[] = [];
  if (datatype === 'BYTES') {
    let at = offset;
    for (let i = 0; i < count; i++) {
      const length = bytes.readUInt32LE(at);
      values.push(bytes.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    return { values, used: at - offset };
  }
  const size = SIZE[datatype];
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (datatype) {
      case 'BOOL': values.push(view.getUint8(at) !== 0); break;
      case 'UINT8': values.push(view.getUint8(at)); break;
      case 'INT8': values.push(view.getInt8(at)); break;
      case 'UINT16': values.push(view.getUint16(at, true)); break;
      case 'INT16': values.push(view.getInt16(at, true)); break;
      case 'UINT32': values.push(view.getUint32(at, true)); break;
      case 'INT32': values.push(view.getInt32(at, true)); break;
      case 'UINT64': values.push(view.getBigUint64(at, true)); break;
      case 'INT64': values.push(view.getBigInt64(at, true)); break;
      case 'FP16': values.push(getFloat16(view, at, true)); break;
      case 'FP32': values.push(view.getFloat32(at, true)); break;
      case 'FP64': values.push(view.getFloat64(at, true)); break;
    }
  }
  return { values, used: count * size };
}

/** Splits a binary `infer_result` payload into its output tensors, in header order. */
export function decodeOutputs(outputs: ReadonlyArray<{ name: string; datatype: Datatype; shape: number[] }>, payload: Buffer): Map<string, Value[]> {
  const result = new Map<string, Value[]>();
  let offset = 0;
  for (const o of outputs) {
    const { values, used } = decodeTensor(o.datatype, o.shape.reduce((n, d) => n * d, 1), payload, offset);
    result.set(o.name, values);
    offset += used;
  }
  if (offset !== payload.length) throw new Error(`the payload has ${payload.length - offset} bytes past its tensors`);
  return result;
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact (as bigint); other numbers are numbers.
 * Node 20's JSON.parse cannot show a reviver the source text, hence this small parser.
 */
export function parseExactJson(text: string): any {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`bad JSON at ${at}: ${what} in ${text.slice(Math.max(0, at - 20), at + 20)}`);
  };
  const space = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const value = (): any => {
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const object: Record<string, any> = {};
      space();
      if (text[at] === '}') return at++, object;
      for (;;) {
        space();
        const key = string();
        space();
        if (text[at++] !== ':') fail('expected ":"');
        object[key] = value();
        space();
        const next = text[at++];
        if (next === '}') return object;
        if (next !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const array: any[] = [];
      space();
      if (text[at] === ']') return at++, array;
      for (;;) {
        array.push(value());
        space();
        const next = text[at++];
        if (next === ']') return array;
        if (next !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at, at + 400))?.[0];
    if (!literal) return fail('unexpected character');
    at += literal.length;
    if (literal === 'true') return true;
    if (literal === 'false') return false;
    if (literal === 'null') return null;
    if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(Number(literal))) return BigInt(literal);
    return Number(literal);
  };
  const string = (): string => {
    if (text[at] !== '"') fail('expected a string');
    const start = at;
    at++;
    while (text[at] !== '"') {
      if (at >= text.length) fail('unterminated string');
      at += text[at] === '\\' ? 2 : 1;
    }
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const result = value();
  space();
  if (at !== text.length) fail('trailing characters');
  return result;
}

/** Compares values the way a round trip must keep them: NaN equals NaN, -0 differs from 0. */
export function sameValues(actual: readonly unknown[], expected: readonly unknown[]): boolean {
  return actual.length === expected.length && actual.every((v, i) => Object.is(v, expected[i]));
}
