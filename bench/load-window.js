// The measured window the closed-loop load generators share (ws-load.js, grpc-load.js):
// warm-up, the window, then the requests in flight finish and the connections close.
import { performance } from 'node:perf_hooks';

/** What a load generator counts; requests answered inside the window count. */
export function loadState() {
  return { measuring: false, stopping: false, windowEnd: 0, done: 0, errors: 0, firstError: null, latencies: [], checked: false, checkError: null };
}

/**
 * @param {{ warmupMs: number, durationMs: number, onWindowStart?: () => void, onWindowEnd?: () => void }} o
 * @param {ReturnType<typeof loadState>} state
 * @param {Promise<void>[]} finished  resolve once each connection has no request in flight after `state.stopping`
 * @param {() => void} close          closes the connections
 */
export async function measureWindow(o, state, finished, close) {
  await sleep(o.warmupMs);
  o.onWindowStart?.();
  state.windowEnd = performance.now() + o.durationMs;
  state.measuring = true;
  await sleep(o.durationMs);
  o.onWindowEnd?.();
  state.stopping = true;
  await Promise.race([Promise.all(finished), sleep(5000)]);
  close();
  if (state.checkError) throw state.checkError;
  return {
    seconds: o.durationMs / 1000,
    requests: state.done,
    errors: state.errors,
    firstError: state.firstError,
    latencies: state.latencies
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
