/**
 * An inference worker thread: it holds one onnxruntime session (one instance of one model
 * version) and runs it for the service's event loop. Messages are handled in order; runs
 * wait for the load. onnxruntime-node runs a session synchronously inside its thread, so a
 * slow model keeps only its own worker busy.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import { OnnxModel } from './onnx-model.js';
import { type FromWorker, type ToWorker, packTensors } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('inference-worker.js runs as a worker thread');

let model: Promise<OnnxModel> | null = null;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

/**
 * A model whose runs take long yields the CPU to short ones: once its runs average over
 * SLOW_RUN_MS, this worker thread lowers its own scheduling priority (Linux: the thread's nice
 * value, by YIELD_NICE). The service's event loop and the workers of fast models then get the
 * cores first when they need them, so a heavy model cannot hold up liveness or a light model's
 * latency; when the machine has room, the slow model still uses all of it. One way only: an
 * unprivileged process may lower a thread's priority but not raise it again. A background
 * instance (replays) runs at that lower priority from its load on.
 */
const SLOW_RUN_MS = 20;
const YIELD_NICE = 10;
let meanRunMs = 0;
let yielded = false;

function noteRun(ms: number): void {
  meanRunMs = meanRunMs === 0 ? ms : 0.8 * meanRunMs + 0.2 * ms;
  if (meanRunMs >= SLOW_RUN_MS && !process.env.NBDEPLOY_NO_YIELD) yieldCores();
}

function yieldCores(): void {
  if (yielded) return;
  yielded = true;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + YIELD_NICE));
  } catch {
    // Not Linux, or not allowed: the thread keeps its priority.
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.op) {
    case 'load':
      if (message.background) yieldCores();
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
        .then(async (loaded) => {
          const start = performance.now();
          const outputs = await loaded.run(inputs, outputNames);
          noteRun(performance.now() - start);
          return outputs;
        })
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
