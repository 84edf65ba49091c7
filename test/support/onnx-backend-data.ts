/**
 * ONNX's own backend test data, as the `onnx` package in the project's .venv ships it: a
 * model and its reference inputs and outputs (TensorProto files). Models of all kinds that
 * onnxruntime loads, for tests that say "a valid model is served".
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { Datatype, Tensor } from '../../kernel-service/src/protocol/datatypes.js';

const { onnx } = onnxProto;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of one backend test case, e.g. `test_expand_shape_model1`. */
export function backendCase(name: string): string {
  const lib = path.join(ROOT, '.venv', 'lib');
  const pythons = existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith('python3')) : [];
  const found = pythons.map((p) => path.join(lib, p, 'site-packages/onnx/backend/test/data/simple', name)).find((f) => existsSync(f));
  if (!found) throw new Error(`ONNX backend test case ${name} not found: run \`make setup\` (the onnx package in .venv ships it)`);
  return found;
}

const TYPES: Record<number, { datatype: Datatype; array: new (buffer: ArrayBuffer) => Tensor['data'] }> = {
  [onnx.TensorProto.DataType.FLOAT]: { datatype: 'FP32', array: Float32Array as never },
  [onnx.TensorProto.DataType.INT64]: { datatype: 'INT64', array: BigInt64Array as never }
};

/** The reference inputs (`input_*.pb`) or outputs (`output_*.pb`) of a case's first data set, named as the model names them. */
export function backendTensors(name: string, kind: 'input' | 'output', names: readonly string[]): Tensor[] {
  const folder = path.join(backendCase(name), 'test_data_set_0');
  const files = readdirSync(folder).filter((f) => f.startsWith(`${kind}_`)).sort();
  return files.map((file, i) => {
    const proto = onnx.TensorProto.decode(readFileSync(path.join(folder, file)));
    const type = TYPES[proto.dataType];
    if (!type) throw new Error(`${file}: element type ${proto.dataType} is not read by this helper`);
    const raw = proto.rawData;
    if (!raw || raw.byteLength === 0 && proto.dims.some((d) => Number(d) > 0)) throw new Error(`${file}: only tensors with raw_data are read by this helper`);
    const data = new type.array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer);
    return { name: names[i] ?? proto.name, datatype: type.datatype, shape: proto.dims.map(Number), data };
  });
}
