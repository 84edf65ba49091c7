// Isolation: does a slow model hold up another model, or the health probes? The small iris
// model is measured alone, then while four WebSocket clients keep a slow model busy (64
// rows per request through eight 1024×1024 MatMuls, bench/slow-model.js), on the same
// service, in one run. Fast load: autocannon, BENCH_ISOLATION_CONNECTIONS (default 4)
// connections on the iris model's OIP v2 JSON route; liveness: one client asking
// /v2/health/live in a closed loop. See bench/README.md ("Isolation").
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { SLOW_INPUT, SLOW_WIDTH, slowModel } from './slow-model.js';
import { registerBinary, runWsLoad } from './ws-load.js';

const SLOW_ROWS = 64;
const SLOW_CLIENTS = 4;

/**
 * @param {object} o
 * @param {{url: string, token: string}} o.nbd a started nbdeploy service serving `o.model`
 * @param {string} o.model the fast model
 * @param {string} o.body its OIP v2 JSON request body
 * @param {number} o.seconds measured seconds per phase
 * @param {number} o.warmupSeconds
 */
export async function runIsolation(o) {
  const connections = Math.round(Number(process.env.BENCH_ISOLATION_CONNECTIONS ?? 4));
  await registerBinary(o.nbd.url, o.nbd.token, { type: 'register', id: 'slow', model: 'slow' }, slowModel());
  const fast = () => fastLoad(o, connections);

  await fast(); // warm-up of the fast path
  const alone = await fast();
  const row = new Array(SLOW_ROWS * SLOW_WIDTH).fill(0).map((_, i) => ((i * 7919) % 1000) / 1000);
  const slowLoad = runWsLoad({
    url: o.nbd.url,
    token: o.nbd.token,
    model: 'slow',
    input: SLOW_INPUT,
    row,
    rows: SLOW_ROWS,
    clients: SLOW_CLIENTS,
    depth: 1,
    warmupMs: o.warmupSeconds * 1000,
    durationMs: o.seconds * 1000 + 500
  });
  await sleep(o.warmupSeconds * 1000);
  const loaded = await fast();
  const slow = await slowLoad;
  if (slow.errors > 0) throw new Error(`the slow model answered ${slow.errors} errors: ${JSON.stringify(slow.firstError)}`);
  return {
    connections,
    alone,
    loaded,
    slowRunsPerSecond: slow.requests / slow.seconds,
    fastP99Ratio: loaded.fast.p99 / alone.fast.p99,
    liveP99LoadedMs: loaded.live.p99
  };
}

/** The fast model under autocannon, and /v2/health/live in a closed loop beside it, for `seconds`. */
async function fastLoad(o, connections) {
  const latencies = [];
  let errors = 0;
  let stop = false;
  const live = [];
  const probing = (async () => {
    while (!stop) {
      const t = performance.now();
      const res = await fetch(`${o.nbd.url}/v2/health/live`);
      await res.arrayBuffer();
      if (res.status === 200) live.push(performance.now() - t);
      else errors++;
    }
  })();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${o.nbd.url}/v2/models/${o.model}/infer`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.nbd.token}` },
        body: o.body,
        connections,
        duration: o.seconds
      },
      (error, r) => (error ? reject(error) : resolve(r))
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status === 200) latencies.push(ms);
    });
  });
  stop = true;
  await probing;
  return {
    requestsPerSecond: latencies.length / result.duration,
    errors: errors + result.non2xx + result.errors + result.timeouts,
    fast: percentiles(latencies),
    live: percentiles(live)
  };
}

function percentiles(values) {
  const sorted = Float64Array.from(values).sort();
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99) };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
