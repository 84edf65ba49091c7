// The thinnest possible inference server, as a baseline for nbdeploy's HTTP path:
// node:http + onnxruntime-node, no auth, no validation, no metrics, no batching.
// It parses the OIP v2 JSON request, runs the model and writes the OIP v2 JSON response.
//
//   node bench/baselines/bare-server.js MODEL.onnx [PORT]
// prints "listening on http://127.0.0.1:PORT" once it accepts requests.
import http from 'node:http';
import ort from 'onnxruntime-node';

const [modelPath, port = '0'] = process.argv.slice(2);
if (!modelPath) {
  console.error('usage: node bench/baselines/bare-server.js MODEL.onnx [PORT]');
  process.exit(2);
}

// The same session options nbdeploy uses (one intra-op thread per run).
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all'
});

const ORT_TO_OIP = { float32: 'FP32', float64: 'FP64', int64: 'INT64', int32: 'INT32', bool: 'BOOL', string: 'BYTES' };

function outputJson(name, tensor) {
  const data = tensor.type === 'int64' || tensor.type === 'uint64' ? Array.from(tensor.data, Number) : Array.from(tensor.data);
  return { name, datatype: ORT_TO_OIP[tensor.type] ?? tensor.type, shape: tensor.dims.map(Number), data };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const body = JSON.parse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      const feeds = {};
      for (const input of body.inputs) {
        const flat = Array.isArray(input.data[0]) ? input.data.flat(Infinity) : input.data;
        feeds[input.name] = new ort.Tensor('float32', Float32Array.from(flat), input.shape);
      }
      const results = await session.run(feeds);
      const text = JSON.stringify({
        model_name: 'iris',
        model_version: '1',
        id: body.id ?? '',
        outputs: session.outputNames.map((name) => outputJson(name, results[name]))
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (error) {
      const text = JSON.stringify({ error: String(error) });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }
  });
});

server.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
