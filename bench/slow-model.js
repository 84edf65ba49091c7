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

export function slowModel() {
  let seed = 1;
  const weights = (name) => {
    const values = new Float32Array(WIDTH * WIDTH);
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      values[i] = (seed / 2147483648 - 0.5) / 16;
    }
    return { name, dims: [WIDTH, WIDTH], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(values.buffer) };
  };
  const value = (name) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: WIDTH }] } } }
  });
  const node = [];
  const initializer = [];
  let last = SLOW_INPUT;
  for (let i = 0; i < LAYERS; i++) {
    initializer.push(weights(`w${i}`));
    const out = i === LAYERS - 1 ? 'y' : `h${i}`;
    node.push({ opType: 'MatMul', input: [last, `w${i}`], output: [i === LAYERS - 1 ? out : `m${i}`], name: `matmul${i}` });
    if (i < LAYERS - 1) node.push({ opType: 'Relu', input: [`m${i}`], output: [out], name: `relu${i}` });
    last = out;
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'nbdeploy-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'slow', node, initializer, input: [value(SLOW_INPUT)], output: [value('y')] }
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}
