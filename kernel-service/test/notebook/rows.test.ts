/**
 * The notebook API's reading of a model (its signature from the ONNX file) and of notebook
 * rows (arrays or records → input tensors), with the errors a notebook user sees.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { tensorValues } from '../../src/protocol/datatypes.js';
import type { Signature } from '../../src/runtime/signature.js';
import { InputError } from '../../src/notebook/errors.js';
import { buildInputs, checkRows } from '../../src/notebook/rows.js';
import { readSignature } from '../../src/notebook/signature.js';

const { onnx } = onnxProto;
const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/models/${name}.onnx`, import.meta.url));

const IRIS: Signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }
  ],
  batchable: true
};

/** An ONNX model with only what readSignature reads: a classifier node's labels and metadata. */
function modelBytes(options: { classLabels?: string[]; metadata?: Record<string, unknown> }): Uint8Array {
  const attribute = options.classLabels
    ? [{ name: 'classlabels_strings', type: onnx.AttributeProto.AttributeType.STRINGS, strings: options.classLabels.map((s) => Buffer.from(s)) }]
    : [];
  return onnx.ModelProto.encode({
    irVersion: 8,
    graph: { name: 'g', node: [{ opType: 'LinearClassifier', domain: 'ai.onnx.ml', attribute }] },
    metadataProps: Object.entries(options.metadata ?? {}).map(([k, v]) => ({ key: `nbdeploy.${k}`, value: JSON.stringify(v) }))
  }).finish();
}

describe('readSignature', () => {
  it('should read a classifier from its outputs, with classes 0…k-1 when the file names none', () => {
    const signature = readSignature(fixture('iris_classifier'), IRIS);
    expect(signature).toMatchObject({
      layout: 'matrix',
      task: 'classification',
      classes: [0, 1, 2],
      label_output: 'label',
      scores_output: 'probabilities',
      value_output: null,
      feature_names: ['x0', 'x1', 'x2', 'x3']
    });
  });

  it('should read a regressor', () => {
    const service: Signature = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 10] }], outputs: [{ name: 'prediction', datatype: 'FP32', shape: [-1, 1] }], batchable: true };
    expect(readSignature(fixture('diabetes_regressor'), service)).toMatchObject({ task: 'regression', classes: null, value_output: 'prediction' });
  });

  it("should take the classifier node's labels, and nbdeploy's metadata before them", () => {
    expect(readSignature(modelBytes({ classLabels: ['setosa', 'versicolor', 'virginica'] }), IRIS).classes).toEqual(['setosa', 'versicolor', 'virginica']);
    const both = modelBytes({ classLabels: ['a', 'b', 'c'], metadata: { classes: [3, 5, 7], library: 'sklearn' } });
    expect(readSignature(both, IRIS)).toMatchObject({ classes: [3, 5, 7], library: 'sklearn' });
  });

  it('should refuse class labels that do not fit the scores, and bytes that are not ONNX', () => {
    expect(() => readSignature(modelBytes({}), IRIS, { classes: [0, 1] })).toThrow('the model scores 3 classes but 2 class labels were given ([0,1])');
    expect(() => readSignature(Buffer.from('not a model at all'), IRIS)).toThrow(InputError);
  });

  it('should refuse feature names that do not fit the input', () => {
    expect(() => readSignature(modelBytes({}), IRIS, { featureNames: ['a', 'b'] })).toThrow('the model\'s input "input" takes 4 features but 2 feature names were given');
  });
});

describe('buildInputs', () => {
  const signature = readSignature(modelBytes({}), IRIS, { featureNames: ['sl', 'sw', 'pl', 'pw'] });

  it('should give the same tensor for arrays and for records, missing numbers as NaN', () => {
    const fromArrays = buildInputs(signature, [[5.1, 3.5, 1.4, null], [6, 3, 4.8, 1.8]]);
    const fromRecords = buildInputs(signature, [{ pw: null, pl: 1.4, sw: 3.5, sl: 5.1 }, { sl: 6, sw: 3, pl: 4.8, pw: 1.8 }]);
    expect(fromArrays[0]!.shape).toEqual([2, 4]);
    expect(tensorValues(fromRecords[0]!)).toEqual(tensorValues(fromArrays[0]!));
    expect(Number.isNaN(tensorValues(fromArrays[0]!)[3])).toBe(true);
  });

  it('should name what does not fit: a missing field, a short row, a word where a number goes', () => {
    expect(() => buildInputs(signature, [{ sl: 1, sw: 2, pl: 3 }])).toThrow('the rows have no field "pw"; the model takes 4 features: sl, sw, pl, pw');
    expect(() => buildInputs(signature, [[1, 2, 3, 4], [1, 2, 3]])).toThrow('row 1 has 3 values; the model\'s input "input" takes 4 per row');
    expect(() => buildInputs(signature, [[1, 2, 'wide', 4]])).toThrow('feature "pl" must be numeric (FP32); row 0 holds "wide"');
  });

  it('should refuse rows that are not rows', () => {
    expect(() => checkRows([], 'the sample')).toThrow('the sample has no rows');
    expect(() => checkRows([[1, 2], { a: 1 }])).toThrow('the data: row 1 is a record; give every row as an array, like row 0');
  });
});
