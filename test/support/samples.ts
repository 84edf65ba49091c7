/**
 * One sample per OIP datatype, sent through the identity fixtures
 * (test/fixtures/models/identity_*.onnx: `y = x`, [N, 3]) by the datatype tests of every
 * transport: the edges of each type, NaN and the infinities, -0, 64-bit integers past 2^53,
 * and strings beyond ASCII.
 */
import { f16round } from '@petamoriken/float16';
import type { RestClient } from './http.js';
import { fixture } from './models.js';
import type { Datatype, Value } from './tensors.js';

export interface Sample {
  /** What is sent as OIP JSON (64-bit integers past 2^53 as decimal strings, non-finite floats as strings). */
  json: unknown[];
  /** What is sent in a binary frame. */
  binary: Value[];
  /** What must come back (numbers after rounding to the datatype; bigints for 64-bit integers). */
  expected: Value[];
}

const FLOAT_SPECIALS = ['NaN', 'Infinity', '-Infinity'] as const;
export const special = (s: string): number => ({ NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity })[s]!;

/** Floats: a sample of finite values plus NaN and the infinities, rounded as the datatype rounds. */
function floats(values: number[], round: (v: number) => number): Sample {
  const all = [...values, ...FLOAT_SPECIALS.map(special)];
  return {
    json: [...values, ...FLOAT_SPECIALS],
    binary: all,
    expected: all.map(round)
  };
}

/** Integers that JSON numbers carry exactly. */
function ints(values: number[]): Sample {
  return { json: values, binary: values, expected: values };
}

/** 64-bit integers: past 2^53 they travel as decimal strings in JSON, as exact bigints in binary. */
function bigints(values: string[]): Sample {
  const big = values.map((v) => BigInt(v));
  return {
    json: values.map((v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v)),
    binary: big,
    expected: big
  };
}

export const SAMPLES: Record<Datatype, Sample> = {
  BOOL: { json: [true, false, true, false, false, true], binary: [true, false, true, false, false, true], expected: [true, false, true, false, false, true] },
  UINT8: ints([0, 1, 127, 128, 254, 255]),
  UINT16: ints([0, 1, 255, 256, 65534, 65535]),
  UINT32: ints([0, 1, 65536, 2147483648, 4294967294, 4294967295]),
  UINT64: bigints(['0', '1', '4294967296', '9007199254740993', '9223372036854775808', '18446744073709551615']),
  INT8: ints([-128, -1, 0, 1, 126, 127]),
  INT16: ints([-32768, -1, 0, 1, 32766, 32767]),
  INT32: ints([-2147483648, -1, 0, 1, 2147483646, 2147483647]),
  INT64: bigints(['-9223372036854775808', '-9007199254740993', '-1', '0', '9007199254740993', '9223372036854775807']),
  FP16: floats([1.5, -0.1, 65504, -0, 2 ** -24, 0.333], f16round),
  FP32: floats([0.1, -0, 3.4028234663852886e38, 1.401298464324817e-45, -2.5, 1e-10], Math.fround),
  FP64: floats([Math.PI, -0, Number.MAX_VALUE, Number.MIN_VALUE, -123.456, 1e-300], (v) => v),
  BYTES: {
    json: ['hello', '', 'héllo wörld', '日本語のテキスト', 'emoji 🎉🚀', 'quote " backslash \\ newline \n tab \t'],
    binary: ['hello', '', 'héllo wörld', '日本語のテキスト', 'emoji 🎉🚀', 'quote " backslash \\ newline \n tab \t'],
    expected: ['hello', '', 'héllo wörld', '日本語のテキスト', 'emoji 🎉🚀', 'quote " backslash \\ newline \n tab \t']
  }
};

export const DATATYPES = Object.keys(SAMPLES) as Datatype[];
export const modelOf = (datatype: Datatype): string => `identity_${datatype.toLowerCase()}`;
export const shapeOf = (values: readonly unknown[]): number[] => [values.length / 3, 3];

/** What a JSON response value means, in the terms `expected` uses. */
export function fromJson(datatype: Datatype, v: unknown): Value {
  if (datatype.endsWith('INT64')) return BigInt(v as number | bigint);
  if (datatype.startsWith('FP') && typeof v === 'string') return special(v);
  return v as Value;
}

/** Registers every identity fixture under its model name (identity_fp32, …). */
export async function registerIdentityModels(rest: RestClient): Promise<void> {
  for (const datatype of DATATYPES) {
    await rest.register(modelOf(datatype), { 'model.onnx': fixture(`${modelOf(datatype)}.onnx`) });
  }
}
