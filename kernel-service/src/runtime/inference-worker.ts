/**
 * An inference worker thread: it holds one onnxruntime session (one instance of one model
 * version) and runs it for the service's event loop. Messages are handled in order; runs
 * wait for the load. onnxruntime-node runs a session synchronously inside its thread, so a
 * slow model keeps only its own worker busy.
 */
import { parentPort } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import { OnnxModel } from './onnx-model.js';
import { type FromWorker, type ToWorker, packTensors } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('inference-worker.js runs as a worker thread');

let model: Promise<OnnxModel> | null = null;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

port.on('message', (message: ToWorker) => {
  switch (message.op) {
    case 'load':
      model = OnnxModel.load(message.file, { intraOpThreads: message.intraOpThreads });
      model.then(
        async (loaded) => {
          let warmError: string | null = null;
          if (message.warm) {
            try {
              await loaded.warm();
            } catch (error) {
              warmError = (error as Error).message;
            }
          }
          post({ op: 'loaded', signature: loaded.signature, warmError });
        },
        (error: unknown) => {
          const failure = error instanceof ServiceError ? error : new ServiceError('NBD_ERR_MODEL_INVALID', { reason: String(error) });
          post({ op: 'load_failed', code: failure.code, params: failure.params });
        }
      );
      break;
    case 'run': {
      const { id, inputs, outputNames } = message;
      const ready = model ?? Promise.reject(new Error('no model is loaded in this worker'));
      ready
        .then((loaded) => loaded.run(inputs, outputNames))
        .then(
          (outputs) => {
            const out = packTensors(outputs);
            const back = packTensors(inputs);
            post({ op: 'result', id, outputs: out.tensors, inputs: back.tensors }, [...new Set([...out.transfer, ...back.transfer])]);
          },
          (error: unknown) => post({ op: 'run_failed', id, message: error instanceof Error ? error.message : String(error) })
        );
      break;
    }
    case 'release':
      void (model ?? Promise.resolve(null))
        .then((loaded) => loaded?.release(), () => {})
        .finally(() => post({ op: 'released' }));
      break;
  }
});
