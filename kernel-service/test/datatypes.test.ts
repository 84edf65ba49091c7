import { describe, expect, it } from 'vitest';
import {
  DATATYPES,
  type Datatype,
  tensorFromBytes,
  tensorFromJson,
  tensorToBytes,
  tensorToJsonText,
  tensorValues
} from '../src/protocol/datatypes.js';
import { ServiceError } from '../src/errors.js';

const SAMPLES: Record<Datatype, unknown[]> = {
  BOOL: [true, false, true],
  UINT8: [0, 128, 255],
  UINT16: [0, 1, 65535],
  UINT32: [0, 7, 4294967295],
  UINT64: [0, '18446744073709551615', 9007199254740993n.toString()],
  INT8: [-128, 0, 127],
  INT16: [-32768, 5, 32767],
  INT32: [-2147483648, 0, 2147483647],
  INT64: ['-9223372036854775808', 42, '9223372036854775807'],
  FP16: [1.5, 'NaN', '-Infinity'],
  FP32: [0.25, 'Infinity', 'NaN'],
  FP64: [Math.PI, '-Infinity', -0],
  BYTES: ['a', 'é', '']
};

function jsonRoundTrip(datatype: Datatype, data: unknown[]): unknown[] {
  const tensor = tensorFromJson('x', datatype, [1, 3], data);
  return JSON.parse(tensorToJsonText(tensor)).data;
}

describe('tensorFromJson', () => {
  it.each(DATATYPES)('should round-trip %s through JSON text exactly', (datatype) => {
    const data = SAMPLES[datatype];
    const expected = data.map((v) => (datatype.endsWith('INT64') && typeof v === 'number' ? String(v) : v));
    const back = jsonRoundTrip(datatype, data).map((v) => (datatype.endsWith('INT64') ? String(v) : v));
    // 64-bit integers come back as JSON numbers with every digit; compare their text.
    if (datatype.endsWith('INT64')) {
      const text = tensorToJsonText(tensorFromJson('x', datatype, [1, 3], data));
      for (const v of expected) expect(text).toContain(String(v));
    } else {
      expect(back).toEqual(expected);
    }
  });

  it('should keep NaN and infinities as values', () => {
    const values = tensorValues(tensorFromJson('x', 'FP64', [3], ['NaN', 'Infinity', '-Infinity']));
    expect(values[0]).toBeNaN();
    expect(values.slice(1)).toEqual([Infinity, -Infinity]);
  });

  it('should accept nested row-major data', () => {
    const t = tensorFromJson('x', 'INT32', [2, 2], [[1, 2], [3, 4]]);
    expect(Array.from(t.data as Int32Array)).toEqual([1, 2, 3, 4]);
  });

  it('should name the input and element when a value has the wrong type', () => {
    expect(() => tensorFromJson('age', 'FP32', [1, 2], [1, '3,5'])).toThrowError(/input "age": element 1 is "3,5"; FP32 needs a number/);
    expect(() => tensorFromJson('n', 'UINT8', [1], [256])).toThrowError(/element 0 is 256; UINT8 needs an integer in the UINT8 range/);
    expect(() => tensorFromJson('b', 'BOOL', [1], [1])).toThrowError(/true or false/);
    expect(() => tensorFromJson('s', 'BYTES', [1], [3])).toThrowError(/a string/);
  });

  it('should refuse data whose length does not fit the shape', () => {
    const error = (() => {
      try {
        tensorFromJson('x', 'FP32', [2, 3], [1, 2, 3]);
      } catch (e) {
        return e as ServiceError;
      }
    })();
    expect(error?.code).toBe('NBD_ERR_INPUT_DATA');
    expect(error?.message).toContain('shape [2, 3] holds 6 elements but data has 3');
  });
});

describe('tensorToBytes', () => {
  it.each(DATATYPES)('should round-trip %s through the binary form', (datatype) => {
    const tensor = tensorFromJson('x', datatype, [1, 3], SAMPLES[datatype]);
    const bytes = tensorToBytes(tensor);
    // an odd offset checks that unaligned payloads are copied before use
    const framed = Buffer.concat([Buffer.from([7]), bytes]);
    const { tensor: back, used } = tensorFromBytes('x', datatype, [1, 3], framed, 1);
    expect(used).toBe(bytes.length);
    expect(tensorToJsonText(back)).toBe(tensorToJsonText(tensor));
  });

  it('should refuse a payload shorter than the shape needs', () => {
    expect(() => tensorFromBytes('x', 'FP32', [4], Buffer.alloc(8), 0)).toThrowError(/binary payload ends before the 4 elements/);
    expect(() => tensorFromBytes('s', 'BYTES', [1], Buffer.from([9, 0, 0, 0, 65]), 0)).toThrowError(/binary payload ends/);
  });
});
