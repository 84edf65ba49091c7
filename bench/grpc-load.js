// gRPC load for nbdeploy's OIP v2 endpoint (`serve --grpc-port`): N clients, each on its
// own HTTP/2 connection, keeping up to `depth` ModelInfer calls in flight, one row per
// request in raw_input_contents (as tritonclient.grpc sends tensors), the token in the
// `authorization` metadata. Uses @grpc/grpc-js with the protocol's proto.
//
// Exports runGrpcLoad(); see bench/run.js. Latencies are measured per call from send to
// reply, in milliseconds, for calls answered inside the measured window.
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadState, measureWindow } from './load-window.js';

/**
 * @param {object} o
 * @param {string} o.address   the gRPC endpoint, host:port
 * @param {string} o.token     bearer token
 * @param {string} o.protoFile grpc_predict_v2.proto
 * @param {string} o.model     model name
 * @param {string} o.input     input tensor name
 * @param {number[]} o.row     one row of FP32 features
 * @param {number} o.clients   concurrent connections
 * @param {number} o.depth     calls in flight per connection
 * @param {number} o.warmupMs  load before measuring
 * @param {number} o.durationMs measured window
 * @param {(response: object) => void} [o.check] called on the first response
 * @param {() => void} [o.onWindowStart] called as the measured window opens
 * @param {() => void} [o.onWindowEnd] called as it closes
 */
export async function runGrpcLoad(o) {
  const definition = protoLoader.loadSync(o.protoFile, { keepCase: true, longs: String, defaults: true, arrays: true, oneofs: true });
  const Service = grpc.loadPackageDefinition(definition).inference.GRPCInferenceService;
  const method = Service.service.ModelInfer;
  // The request is the same every time: serialized once, so the client spends its CPU on calls.
  const request = method.requestSerialize({
    model_name: o.model,
    inputs: [{ name: o.input, datatype: 'FP32', shape: [1, o.row.length] }],
    raw_input_contents: [Buffer.from(new Float32Array(o.row).buffer)]
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${o.token}`);

  const state = loadState();

  // A local subchannel pool gives each client a connection of its own, as separate processes would have.
  const clients = Array.from({ length: o.clients }, () => new grpc.Client(o.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  await Promise.all(clients.map((client) => new Promise((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())))));
  const finished = clients.map((client) => drive(client));

  function drive(client) {
    let inflight = 0;
    return new Promise((resolve) => {
      const send = () => {
        const sentAt = performance.now();
        inflight++;
        client.makeUnaryRequest(method.path, (bytes) => bytes, method.responseDeserialize, request, metadata.clone(), (error, response) => {
          const now = performance.now();
          inflight--;
          if (error) {
            if (state.measuring && now <= state.windowEnd) state.errors++;
            state.firstError ??= { code: error.code, details: error.details };
          } else {
            if (!state.checked && o.check) {
              state.checked = true;
              try {
                o.check(response);
              } catch (checkError) {
                state.checkError = checkError;
              }
            }
            if (state.measuring && now <= state.windowEnd) {
              state.done++;
              state.latencies.push(now - sentAt);
            }
          }
          if (!state.stopping) send();
          else if (inflight === 0) resolve();
        });
      };
      for (let i = 0; i < o.depth; i++) send();
    });
  }

  return measureWindow(o, state, finished, () => {
    for (const client of clients) client.close();
  });
}
