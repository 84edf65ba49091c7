// The slow model of the isolation scenario: x FP32 [N, 1024] through eight 1024×1024
// MatMuls (with a Relu between them), y FP32 [N, 1024]. 64 rows cost about a gigaflop: some
// tens of runs per second on one core. Weights are a fixed pseudo-random sequence, so the
// model's bytes are the same every time it is built.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const WIDTH = 1024;
const LAYERS = 8;

export const SLOW_INPUT = 'x';
export const SLOW_WIDTH = WIDTH;

/**
 * `inputWidth`/`outputWidth` (default 1024): a narrow input and output around the same eight
 * layers make a model whose cost is all compute (little JSON per request): x [N, inputWidth]
 * through a first layer of [inputWidth, 1024] and, when outputWidth differs, a last
 * projection to [N, outputWidth].
 */
export function slowModel({ inputWidth = WIDTH, outputWidth = WIDTH } = {}) {
  let seed = 1;
  const weights = (name, rows = WIDTH, columns = WIDTH) => {
    const values = new Float32Array(rows * columns);
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      values[i] = (seed / 2147483648 - 0.5) / 16;
    }
    return { name, dims: [rows, columns], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(values.buffer) };
  };
  const value = (name, width) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } }
  });
  const node = [];
  const initializer = [];
  let last = SLOW_INPUT;
  const projected = outputWidth !== WIDTH;
  for (let i = 0; i < LAYERS; i++) {
    initializer.push(weights(`w${i}`, i === 0 ? inputWidth : WIDTH));
    const final = i === LAYERS - 1 && !projected;
    const out = final ? 'y' : `h${i}`;
    node.push({ opType: 'MatMul', input: [last, `w${i}`], output: [final ? out : `m${i}`], name: `matmul${i}` });
    if (!final) node.push({ opType: 'Relu', input: [`m${i}`], output: [out], name: `relu${i}` });
    last = out;
  }
  if (projected) {
    initializer.push(weights('w_out', WIDTH, outputWidth));
    node.push({ opType: 'MatMul', input: [last, 'w_out'], output: ['y'], name: 'matmul_out' });
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nbdeploy-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'slow', node, initializer, input: [value(SLOW_INPUT, inputWidth)], output: [value('y', outputWidth)] }
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}
