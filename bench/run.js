// `npm run bench`: nbdeploy's throughput and latency next to the compute limit and to
// baselines, in one run, one row (one iris prediction) per request. See bench/README.md.
//
// Environment: BENCH_SECONDS (measured seconds per scenario, default 8),
// BENCH_WARMUP_SECONDS (default 2), BENCH_CONNECTIONS (default 64),
// BENCH_WS_DEPTH (requests in flight per WebSocket client, default 8),
// BENCH_GRPC_DEPTH (calls in flight per gRPC client, default 8),
// BENCH_ONLY (comma-separated scenario keys: inproc,bare,fastapi,http,ws,grpc,ws-nobatch,monitoring,status,capture,http-workers,isolation),
// BENCH_NBDEPLOY_NODE_ARGS (extra node flags for the nbdeploy service, for profiling),
// BENCH_NBDEPLOY_BIN (another build's bin/nbdeploy.js, to compare two builds).
// `npm run bench -- memory` runs only the memory scenario (bench/memory.js: 10M requests, minutes);
// `npm run bench -- overload` only the overload scenario (bench/overload.js: 10× capacity for 60 s);
// `npm run bench -- replicas` only the replicas scenarios (bench/replicas.js: --workers 2, merged status).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import ort from 'onnxruntime-node';
import { runGrpcLoad } from './grpc-load.js';
import { runIsolation } from './isolation.js';
import { runMemory } from './memory.js';
import { historyProfile, writeHistory } from './monitoring-history.js';
import { runOverload } from './overload.js';
import { runReplicas } from './replicas.js';
import { killAll, startServer, stopServer } from './processes.js';
import { askRepeatedly, irisProfile, registerBinary, runWsLoad, subscribe, wsRequest } from './ws-load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'test/fixtures/models/iris_classifier.onnx');
const PROTO = path.join(ROOT, 'kernel-service/proto/grpc_predict_v2.proto');
const EXPECTED = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/models/iris_classifier.expected.json'), 'utf8'));
const PYTHON = path.join(ROOT, '.venv/bin/python');
const RESULTS = path.join(ROOT, 'bench/results/latest.json');

const num = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
};
const SECONDS = num('BENCH_SECONDS', 8);
const WARMUP = num('BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 64));
const WS_DEPTH = Math.round(num('BENCH_WS_DEPTH', 8));
const GRPC_DEPTH = Math.round(num('BENCH_GRPC_DEPTH', 8));
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
// monitor-on and monitor-off are measured together, as `monitoring`; status-off and status-on as `status`.
const wanted = (key) =>
  !ONLY || ONLY.has(key.startsWith('monitor-') ? 'monitoring' : key.startsWith('status-') ? 'status' : key.startsWith('capture-') ? 'capture' : key);

const MODEL_NAME = 'iris';
const INPUT = 'input';
const ROW = EXPECTED.input[0];
const ROW_LABEL = EXPECTED.label[0];
const ROW_PROBS = EXPECTED.probabilities[0];
const SESSION_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
const INFER_BODY = JSON.stringify({ inputs: [{ name: INPUT, shape: [1, ROW.length], datatype: 'FP32', data: [ROW] }] });

// ---------------------------------------------------------------- child processes

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds a process and its descendants (worker processes) have used so far, all threads, from /proc. */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
    return own + childrenOf(pid).reduce((sum, child) => sum + (cpuSecondsOf(child) || 0), 0);
  } catch {
    return NaN;
  }
}

/** A process's child processes, from /proc (empty where the kernel does not list them). */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Read and write system calls a process has made so far, from /proc. */
function syscallsOf(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: NaN, writes: NaN };
  }
}

/** Busy and total CPU time of the whole machine (all cores), from /proc/stat, in ticks. */
function machineTicks() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = fields[3] + fields[4]; // idle, iowait
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// ---------------------------------------------------------------- measurements

function summarize(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(50), p95: at(95), p99: at(99), mean: sorted.length ? sum / sorted.length : NaN, max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

/** CPU accounting over a window: the server (by pid), this process, the whole machine. */
function cpuProbe(serverPid) {
  let start = null;
  const sample = () => ({
    server: serverPid ? cpuSecondsOf(serverPid) : NaN,
    io: serverPid ? syscallsOf(serverPid) : { reads: NaN, writes: NaN },
    own: ownCpuSeconds(),
    box: machineTicks(),
    at: performance.now()
  });
  return {
    start() {
      start = sample();
    },
    stop() {
      const end = sample();
      const wall = (end.at - start.at) / 1000;
      return {
        serverCpuPercent: (100 * (end.server - start.server)) / wall,
        clientCpuPercent: (100 * (end.own - start.own)) / wall,
        // Of all cores together.
        machineCpuPercent: (100 * (end.box.busy - start.box.busy)) / (end.box.total - start.box.total),
        serverReadSyscalls: end.io.reads - start.io.reads,
        serverWriteSyscalls: end.io.writes - start.io.writes
      };
    }
  };
}

/** Measures a load function with CPU accounting of the server (pid) and of this process. */
async function measured(serverPid, load) {
  const probe = cpuProbe(serverPid);
  probe.start();
  const r = await load();
  return { ...r, ...probe.stop() };
}

function checkPrediction(where, label, probabilities) {
  const ok = Number(label) === ROW_LABEL && probabilities.length === ROW_PROBS.length && probabilities.every((p, i) => Math.abs(p - ROW_PROBS[i]) < 1e-5);
  if (!ok) throw new Error(`${where}: wrong prediction: label ${label}, probabilities ${JSON.stringify(Array.from(probabilities))}`);
}

/** One OIP v2 JSON request, checked against the fixture's expected prediction. */
/** With --workers, each worker adopts the model from the registry: twenty answers in a row, whichever worker takes each. */
async function untilEveryWorkerServes(nbd) {
  const until = Date.now() + 30_000;
  for (let ok = 0; ok < 20; ) {
    if (Date.now() > until) throw new Error('the model is not served by every worker within 30 s');
    const res = await fetch(`${nbd.url}/v2/models/${MODEL_NAME}/infer`, { method: 'POST', headers: { authorization: `Bearer ${nbd.token}`, 'content-type': 'application/json' }, body: INFER_BODY });
    await res.arrayBuffer();
    ok = res.status === 200 ? ok + 1 : 0;
  }
}

async function checkHttp(where, url, headers) {
  const res = await fetch(url, { method: 'POST', headers, body: INFER_BODY });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${where}: HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  const out = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
  checkPrediction(where, out.label.data[0], out.probabilities.data);
}

function runAutocannon(opts, onResponse) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)));
    if (onResponse) instance.on('response', onResponse);
  });
}

/** HTTP load with autocannon: a warm-up run, then the measured run. */
async function httpLoad(server, pathname, headers) {
  const url = server.url + pathname;
  const allHeaders = { 'content-type': 'application/json', ...headers };
  await checkHttp(server.name, url, allHeaders);
  const opts = { url, method: 'POST', headers: allHeaders, body: INFER_BODY, connections: CONNECTIONS, pipelining: 1 };
  await runAutocannon({ ...opts, duration: WARMUP });
  return measured(server.child.pid, async () => {
    const latencies = [];
    let ok = 0;
    const result = await runAutocannon({ ...opts, duration: SECONDS }, (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        ok++;
        latencies.push(ms);
      }
    });
    return { seconds: result.duration, requests: ok, errors: result.non2xx + result.errors + result.timeouts, latencies };
  });
}

// ---------------------------------------------------------------- scenarios

async function scenarioInProcess() {
  const session = await ort.InferenceSession.create(MODEL, SESSION_OPTIONS);
  const row = Float32Array.from(ROW);
  const runOnce = () => session.run({ [INPUT]: new ort.Tensor('float32', row.slice(), [1, ROW.length]) });
  const first = await runOnce();
  checkPrediction('in-process', first.label.data[0], Array.from(first.probabilities.data));
  // Warm-up, time-bounded; its rate sizes the measured run's fixed count.
  let warmCount = 0;
  const warmEnd = performance.now() + WARMUP * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < warmEnd) {
        await runOnce();
        warmCount++;
      }
    })
  );
  const perLoop = Math.max(1, Math.ceil((warmCount / WARMUP) * SECONDS / CONNECTIONS));
  const result = await measured(null, async () => {
    const latencies = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        for (let i = 0; i < perLoop; i++) {
          const s = performance.now();
          await runOnce();
          latencies.push(performance.now() - s);
        }
      })
    );
    return { seconds: (performance.now() - t0) / 1000, requests: perLoop * CONNECTIONS, errors: 0, latencies };
  });
  await session.release();
  // In-process, "server" CPU is this process's CPU: the loop and onnxruntime's threads.
  return { ...result, serverCpuPercent: result.clientCpuPercent, clientCpuPercent: NaN };
}

async function scenarioBare() {
  const server = await startServer('bare server', process.execPath, [path.join(ROOT, 'bench/baselines/bare-server.js'), MODEL]);
  try {
    return await httpLoad(server, `/v2/models/${MODEL_NAME}/infer`, {});
  } finally {
    await stopServer(server);
  }
}

async function scenarioFastapi() {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run make setup`);
  const server = await startServer('FastAPI', PYTHON, [path.join(ROOT, 'bench/baselines/fastapi_server.py'), MODEL]);
  try {
    const r = await httpLoad(server, `/v2/models/${MODEL_NAME}/infer`, {});
    return { ...r, info: server.info };
  } finally {
    await stopServer(server);
  }
}

async function batchStats(nbd, model = MODEL_NAME) {
  const res = await fetch(`${nbd.url}/metrics`, { headers: { authorization: `Bearer ${nbd.token}` } });
  const text = await res.text();
  const value = (metric) => {
    let total = 0;
    for (const line of text.split('\n')) if (line.startsWith(metric + '{') && line.includes(`model="${model}"`)) total += Number(line.split(' ').at(-1));
    return total;
  };
  return { sum: value('nbdeploy_batch_rows_sum'), count: value('nbdeploy_batch_rows_count') };
}

/** Wraps a scenario on the nbdeploy service with the mean rows per onnxruntime run it saw. */
async function withBatchStats(nbd, run, model = MODEL_NAME) {
  const before = await batchStats(nbd, model);
  const r = await run();
  const after = await batchStats(nbd, model);
  const runs = after.count - before.count;
  return { ...r, meanBatchRows: runs > 0 ? (after.sum - before.sum) / runs : NaN };
}

/** An nbdeploy service with the iris model loaded, on a fresh state dir (or `stateDir`, which it then does not own). */
async function startNbdeploy(extraArgs = [], existingStateDir = null) {
  const stateDir = existingStateDir ?? mkdtempSync(path.join(os.tmpdir(), 'nbdeploy-bench-'));
  // BENCH_NBDEPLOY_NODE_ARGS: extra node flags for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NBDEPLOY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  // BENCH_NBDEPLOY_BIN: another build's bin/nbdeploy.js, to compare builds.
  const bin = path.resolve(process.env.BENCH_NBDEPLOY_BIN || path.join(ROOT, 'bin/nbdeploy.js'));
  let server;
  try {
    server = await startServer('nbdeploy', process.execPath, [...nodeArgs, bin, 'serve', '--port', '0', '--state-dir', stateDir, ...extraArgs]);
  } catch (error) {
    if (!existingStateDir) rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  server.stateDir = stateDir;
  try {
    server.token = readFileSync(path.join(stateDir, 'token'), 'utf8').trim();
    const res = await fetch(`${server.url}/v2/repository/models/${MODEL_NAME}/load`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: { 'file:1/model.onnx': readFileSync(MODEL).toString('base64') } })
    });
    if (res.status !== 200) throw new Error(`loading the model into nbdeploy failed: HTTP ${res.status} ${await res.text()}`);
    // Production needs a validation report: the unversioned route serves the newest version
    // while there is no production version, with the default batching (dynamic batching on).
    const got = await wsRequest(server.url, server.token, { type: 'get_model', id: 1, model: MODEL_NAME });
    server.batching = got.model.versions.find((v) => v.version === 1).batching;
  } catch (error) {
    await stopServer(server);
    if (!existingStateDir) rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  return server;
}

async function nbdeployWs(nbd, model = MODEL_NAME) {
  const probe = cpuProbe(nbd.child.pid);
  let cpu;
  const r = await runWsLoad({
    url: nbd.url,
    token: nbd.token,
    model,
    input: INPUT,
    row: ROW,
    clients: CONNECTIONS,
    depth: WS_DEPTH,
    warmupMs: WARMUP * 1000,
    durationMs: SECONDS * 1000,
    onWindowStart: () => probe.start(),
    onWindowEnd: () => (cpu = probe.stop()),
    check: (header, payload) => {
      const label = payload.readBigInt64LE(0);
      const probs = Array.from(new Float32Array(payload.buffer.slice(payload.byteOffset + 8, payload.byteOffset + 20)));
      if (header.outputs[0].name !== 'label') throw new Error(`unexpected outputs ${JSON.stringify(header.outputs)}`);
      checkPrediction('nbdeploy WS', label, probs);
    }
  });
  return { ...r, ...cpu };
}

async function nbdeployGrpc(nbd) {
  if (!nbd.grpcAddress) throw new Error('the nbdeploy service was started without --grpc-port');
  const probe = cpuProbe(nbd.child.pid);
  let cpu;
  const r = await runGrpcLoad({
    address: nbd.grpcAddress,
    token: nbd.token,
    protoFile: PROTO,
    model: MODEL_NAME,
    input: INPUT,
    row: ROW,
    clients: CONNECTIONS,
    depth: GRPC_DEPTH,
    warmupMs: WARMUP * 1000,
    durationMs: SECONDS * 1000,
    onWindowStart: () => probe.start(),
    onWindowEnd: () => (cpu = probe.stop()),
    check: (response) => {
      const raw = new Map(response.outputs.map((o, i) => [o.name, response.raw_output_contents[i]]));
      const probs = raw.get('probabilities');
      checkPrediction('nbdeploy gRPC', raw.get('label').readBigInt64LE(0), Array.from({ length: probs.length / 4 }, (_, i) => probs.readFloatLE(4 * i)));
    }
  });
  return { ...r, ...cpu };
}

// ---------------------------------------------------------------- monitoring overhead

const PROFILED = 'iris_profiled';

/**
 * The same WebSocket load on two services, one with monitoring and one with --no-monitoring,
 * measured alternately (on, off, off, on) so that drift in the machine's load cancels out.
 * The model carries a training profile (so every row's four features go into the drift
 * reservoirs), and the monitored service has one live subscriber (the window stream is
 * built) and the default alert rules (evaluated once a second).
 */
async function monitoringPair() {
  const on = await startNbdeploy();
  let off;
  let watcher;
  try {
    off = await startNbdeploy(['--no-monitoring']);
    for (const nbd of [on, off]) await registerBinary(nbd.url, nbd.token, { type: 'register', id: 'p', model: PROFILED, profile: irisProfile(EXPECTED.input) }, readFileSync(MODEL));
    watcher = await subscribe(on.url, on.token, PROFILED);
    const runs = { on: [], off: [] };
    for (const which of ['on', 'off', 'off', 'on']) {
      const nbd = which === 'on' ? on : off;
      runs[which].push(await withBatchStats(nbd, () => nbdeployWs(nbd, PROFILED), PROFILED));
    }
    const windowEvents = watcher.count('window');
    if (windowEvents === 0) throw new Error('the monitored service sent its subscriber no window events');
    return { on: mergeRuns(runs.on), off: mergeRuns(runs.off), windowEvents };
  } finally {
    watcher?.close();
    for (const nbd of [on, off]) {
      if (!nbd) continue;
      await stopServer(nbd);
      rmSync(nbd.stateDir, { recursive: true, force: true });
    }
  }
}

/**
 * What capture costs: HTTP load (as (d)) on two monitored services serving the profiled
 * model, one keeping a tenth of its requests (`set_capture` rate 0.1), measured alternately
 * (on, off, off, on). The capturing service must have kept some.
 */
async function capturePair() {
  const on = await startNbdeploy();
  let off;
  try {
    off = await startNbdeploy();
    for (const nbd of [on, off]) await registerBinary(nbd.url, nbd.token, { type: 'register', id: 'p', model: PROFILED, profile: irisProfile(EXPECTED.input) }, readFileSync(MODEL));
    const set = await wsRequest(on.url, on.token, { type: 'set_capture', id: 'c', model: PROFILED, rate: 0.1 });
    if (set.model?.deployment?.capture?.rate !== 0.1) throw new Error(`capture was not set: ${JSON.stringify(set).slice(0, 300)}`);
    const runs = { on: [], off: [] };
    for (const which of ['on', 'off', 'off', 'on']) {
      const nbd = which === 'on' ? on : off;
      runs[which].push(await withBatchStats(nbd, () => httpLoad(nbd, `/v2/models/${PROFILED}/infer`, { authorization: `Bearer ${nbd.token}` }), PROFILED));
    }
    const kept = await wsRequest(on.url, on.token, { type: 'captured', id: 'k', model: PROFILED, last_seconds: 3600, limit: 1 });
    if (!kept.rows?.length) throw new Error(`the capturing service kept no request: ${JSON.stringify(kept).slice(0, 300)}`);
    return { on: mergeRuns(runs.on), off: mergeRuns(runs.off) };
  } finally {
    for (const nbd of [on, off]) {
      if (!nbd) continue;
      await stopServer(nbd);
      rmSync(nbd.stateDir, { recursive: true, force: true });
    }
  }
}

/** Two measured windows of one scenario as one. */
function mergeRuns(list) {
  const mean = (f) => list.reduce((a, r) => a + f(r), 0) / list.length;
  return {
    seconds: list.reduce((a, r) => a + r.seconds, 0),
    requests: list.reduce((a, r) => a + r.requests, 0),
    errors: list.reduce((a, r) => a + r.errors, 0),
    latencies: list.flatMap((r) => r.latencies),
    serverCpuPercent: mean((r) => r.serverCpuPercent),
    clientCpuPercent: mean((r) => r.clientCpuPercent),
    machineCpuPercent: mean((r) => r.machineCpuPercent),
    serverReadSyscalls: list.reduce((a, r) => a + r.serverReadSyscalls, 0),
    serverWriteSyscalls: list.reduce((a, r) => a + r.serverWriteSyscalls, 0),
    meanBatchRows: mean((r) => r.meanBatchRows),
    firstError: list.find((r) => r.firstError)?.firstError
  };
}

// ---------------------------------------------------------------- a day's status under load

const HISTORY = 'history30';
const HISTORY_FEATURES = 30;
const HISTORY_ROWS_PER_MINUTE = 2000;

/**
 * `status` over 24 h of a 30-feature model that served 2,000 rows a minute, while the WS load
 * of (h) runs on another model of the same service: the day's windows are written through the
 * monitoring store into the state dir (bench/monitoring-history.js) while the service is
 * stopped; then, on the restarted service, one status alone (its caches cold), the load alone
 * (j), and the load with a client asking that status back to back, one in flight (k).
 */
async function statusUnderLoad() {
  let nbd = await startNbdeploy();
  const stateDir = nbd.stateDir;
  try {
    try {
      await registerBinary(nbd.url, nbd.token, { type: 'register', id: 'p', model: PROFILED, profile: irisProfile(EXPECTED.input) }, readFileSync(MODEL));
      // The day's windows are those of a 30-feature model; the ONNX file only needs to be registered under its name.
      await registerBinary(nbd.url, nbd.token, { type: 'register', id: 'h', model: HISTORY, profile: historyProfile(HISTORY_FEATURES) }, readFileSync(MODEL));
    } finally {
      await stopServer(nbd);
      nbd = null;
    }
    process.stdout.write(`  writing 24 h of windows of a ${HISTORY_FEATURES}-feature model at ${HISTORY_ROWS_PER_MINUTE} rows/min ...`);
    const written = await writeHistory({ file: path.join(stateDir, 'registry.sqlite'), model: HISTORY, features: HISTORY_FEATURES, rowsPerMinute: HISTORY_ROWS_PER_MINUTE, hours: 24 });
    process.stdout.write(` ${written.windows} windows in ${written.seconds.toFixed(0)} s
`);
    nbd = await startNbdeploy([], stateDir);
    const question = { type: 'status', model: HISTORY, last_seconds: 86_400 };
    const check = (reply) => {
      if (reply.ops.requests < 100 * 60 * 23 || Object.keys(reply.drift).length !== HISTORY_FEATURES) {
        throw new Error(`the 24 h status lacks the day's windows: ${reply.ops.requests} requests, ${Object.keys(reply.drift).length} features tested`);
      }
    };
    const t0 = performance.now();
    check(await wsRequest(nbd.url, nbd.token, { ...question, id: 'cold' }));
    const coldMs = performance.now() - t0;
    const alone = await withBatchStats(nbd, () => nbdeployWs(nbd, PROFILED), PROFILED);
    const asker = await askRepeatedly(nbd.url, nbd.token, question, check);
    let withStatus;
    let asked;
    try {
      withStatus = await withBatchStats(nbd, () => nbdeployWs(nbd, PROFILED), PROFILED);
    } finally {
      asked = await asker.stop();
    }
    if (asked.errors > 0 || asked.latencies.length === 0) throw new Error(`the 24 h status failed ${asked.errors} time(s), answered ${asked.latencies.length}`);
    return { alone, withStatus, status: { coldMs, ...summarize(asked.latencies), count: asked.latencies.length }, written };
  } finally {
    if (nbd) await stopServer(nbd);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const SCENARIOS = [
  { key: 'inproc', label: '(a) onnxruntime-node in-process' },
  { key: 'bare', label: '(b) bare node:http + onnxruntime' },
  { key: 'fastapi', label: '(c) FastAPI + uvicorn (2 workers)' },
  { key: 'http', label: '(d) nbdeploy HTTP OIP v2 JSON' },
  { key: 'ws', label: '(e) nbdeploy WS binary, batching' },
  { key: 'grpc', label: '(f) nbdeploy gRPC raw contents, batching' },
  { key: 'ws-nobatch', label: '(g) nbdeploy WS binary, no batching' },
  { key: 'monitor-on', label: '(h) as (e), monitoring on' },
  { key: 'monitor-off', label: '(i) as (e), --no-monitoring' },
  { key: 'status-off', label: '(j) as (h), a day in the database' },
  { key: 'status-on', label: '(k) as (j), 24 h status asked' },
  { key: 'capture-on', label: '(l) as (d), monitored, capture 0.1' },
  { key: 'capture-off', label: '(m) as (d), monitored, no capture' },
  { key: 'http-workers', label: '(n) as (d), --workers 2' }
];

const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fmtMs = (n) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '—');
const fmtPct = (n) => (Number.isFinite(n) ? `${Math.round(n)}%` : '—');
const fmtRatio = (n, digits = 2) => (Number.isFinite(n) ? `${n.toFixed(digits)}×` : 'n/a');

function table(rows) {
  const header = ['scenario', 'req/s', 'pred/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'server CPU', 'µs CPU/req', 'client CPU', 'other CPU', 'rows/run'];
  const body = rows.map((r) =>
    r.error
      ? [r.label, `FAILED: ${r.error.split('\n')[0]}`]
      : [
          r.label,
          fmtInt(r.requestsPerSec),
          fmtInt(r.predictionsPerSec),
          fmtMs(r.latencyMs.p50),
          fmtMs(r.latencyMs.p95),
          fmtMs(r.latencyMs.p99),
          fmtInt(r.errors),
          fmtPct(r.serverCpuPercent),
          Number.isFinite(r.serverCpuMicrosPerRequest) ? r.serverCpuMicrosPerRequest.toFixed(1) : '—',
          fmtPct(r.clientCpuPercent),
          fmtPct(r.otherCpuPercent),
          Number.isFinite(r.meanBatchRows) ? r.meanBatchRows.toFixed(1) : '—'
        ]
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length > 2).map((b) => String(b[i]).length)));
  const line = (cells) =>
    cells.length === 2 ? `${cells[0].padEnd(widths[0])}  ${cells[1]}` : cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main() {
  const started = Date.now();
  const ortVersion = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
  console.log(
    `nbdeploy bench: iris_classifier.onnx, 1 row per request, ${CONNECTIONS} concurrent clients` +
      ` (WebSocket: ${WS_DEPTH} in flight each; gRPC: ${GRPC_DEPTH}), ${WARMUP} s warm-up + ${SECONDS} s measured per scenario` +
      `\nmachine: ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}, Node ${process.version}, onnxruntime-node ${ortVersion}; load generator in this process\n`
  );
  const loadBefore = os.loadavg()[0];
  if (loadBefore > 0.5) {
    console.log(
      `note: the 1-minute load average is ${loadBefore.toFixed(2)}: other work has been running on this machine;` +
        ' where the "other CPU" column is high, it competed with a scenario and lowered its numbers\n'
    );
  }
  const results = {};
  let nbdeployBatching = null;
  const run = async (key, fn) => {
    if (!wanted(key)) return;
    const label = SCENARIOS.find((s) => s.key === key).label;
    process.stdout.write(`running ${label} ...`);
    try {
      const r = await fn();
      const stats = summarize(r.latencies);
      results[key] = {
        key,
        label,
        seconds: r.seconds,
        requests: r.requests,
        errors: r.errors,
        requestsPerSec: r.requests / r.seconds,
        predictionsPerSec: r.requests / r.seconds, // one row per request
        latencyMs: stats,
        serverCpuPercent: r.serverCpuPercent,
        clientCpuPercent: r.clientCpuPercent,
        machineCpuPercent: r.machineCpuPercent,
        // Everything else on the machine (other processes, kernel networking), in % of one core.
        otherCpuPercent: r.machineCpuPercent * os.cpus().length - r.serverCpuPercent - (Number.isFinite(r.clientCpuPercent) ? r.clientCpuPercent : 0),
        serverCpuMicrosPerRequest: (r.serverCpuPercent / 100) * 1e6 / (r.requests / r.seconds),
        // System calls of the server (all threads) per answered request, from /proc/PID/io.
        serverReadSyscallsPerRequest: r.serverReadSyscalls / r.requests,
        serverWriteSyscallsPerRequest: r.serverWriteSyscalls / r.requests,
        meanBatchRows: r.meanBatchRows ?? null,
        ...(r.info ? { info: r.info } : {}),
        ...(r.firstError ? { firstError: r.firstError } : {})
      };
      process.stdout.write(` ${fmtInt(results[key].requestsPerSec)} req/s\n`);
    } catch (error) {
      results[key] = { key, label, error: error instanceof Error ? error.message : String(error) };
      process.stdout.write(` failed\n${results[key].error}\n`);
    }
  };

  await run('inproc', scenarioInProcess);
  await run('bare', scenarioBare);
  await run('fastapi', scenarioFastapi);
  if (wanted('http') || wanted('ws') || wanted('grpc') || wanted('ws-nobatch')) {
    let nbd;
    try {
      nbd = await startNbdeploy(['--grpc-port', '0']);
      nbdeployBatching = nbd.batching;
      await run('http', () => withBatchStats(nbd, () => httpLoad(nbd, `/v2/models/${MODEL_NAME}/infer`, { authorization: `Bearer ${nbd.token}` })));
      await run('ws', () => withBatchStats(nbd, () => nbdeployWs(nbd)));
      await run('grpc', () => withBatchStats(nbd, () => nbdeployGrpc(nbd)));
      if (wanted('ws-nobatch')) {
        const dep = await wsRequest(nbd.url, nbd.token, { type: 'deploy', id: 2, model: MODEL_NAME, version: 1, stage: 'staging', batching: { max_batch_size: 0 } });
        const batching = dep.model.versions.find((v) => v.version === 1).batching;
        if (batching.max_batch_size !== 0) throw new Error(`batching is still on: ${JSON.stringify(batching)}`);
        await run('ws-nobatch', () => withBatchStats(nbd, () => nbdeployWs(nbd)));
      }
    } catch (error) {
      for (const key of ['http', 'ws', 'grpc', 'ws-nobatch']) {
        if (wanted(key) && !results[key]) results[key] = { key, label: SCENARIOS.find((s) => s.key === key).label, error: error.message };
      }
    } finally {
      if (nbd) {
        await stopServer(nbd);
        rmSync(nbd.stateDir, { recursive: true, force: true });
      }
    }
  }

  /** One measurement that gives several scenarios' rows (measured together, alternately), each reported as its own. */
  const runTogether = async (message, measure, parts) => {
    let measured = null;
    let failure = null;
    try {
      process.stdout.write(`${message} ...\n`);
      measured = await measure();
    } catch (error) {
      failure = error;
    }
    for (const [key, part] of parts) {
      await run(key, async () => {
        if (failure) throw failure;
        return measured[part];
      });
    }
    return measured;
  };
  if (wanted('monitoring')) {
    await runTogether('measuring monitoring on and off (alternately, on/off/off/on)', monitoringPair, [['monitor-on', 'on'], ['monitor-off', 'off']]);
  }
  if (wanted('capture')) {
    await runTogether('measuring capture at rate 0.1 and none (alternately, on/off/off/on)', capturePair, [['capture-on', 'on'], ['capture-off', 'off']]);
  }
  const statusMeasured = wanted('status')
    ? await runTogether('measuring a 24 h status under load', statusUnderLoad, [['status-off', 'alone'], ['status-on', 'withStatus']])
    : null;
  const statusTimes = statusMeasured?.status ?? null;

  if (wanted('http-workers')) {
    let nbd;
    try {
      nbd = await startNbdeploy(['--workers', '2']);
      await untilEveryWorkerServes(nbd);
      await run('http-workers', () => httpLoad(nbd, `/v2/models/${MODEL_NAME}/infer`, { authorization: `Bearer ${nbd.token}` }));
    } catch (error) {
      if (!results['http-workers']) results['http-workers'] = { key: 'http-workers', label: SCENARIOS.find((s) => s.key === 'http-workers').label, error: error.message };
    } finally {
      if (nbd) {
        await stopServer(nbd);
        rmSync(nbd.stateDir, { recursive: true, force: true });
      }
    }
  }

  let isolation = null;
  if (wanted('isolation')) {
    process.stdout.write('measuring isolation: the iris model alone, then beside a busy slow model ...');
    let nbd;
    try {
      nbd = await startNbdeploy();
      isolation = await runIsolation({ nbd, model: MODEL_NAME, body: INFER_BODY, seconds: SECONDS, warmupSeconds: WARMUP });
      process.stdout.write(` p99 ${fmtMs(isolation.alone.fast.p99)} → ${fmtMs(isolation.loaded.fast.p99)} ms\n`);
    } catch (error) {
      isolation = { error: error instanceof Error ? error.message : String(error) };
      process.stdout.write(` failed\n${isolation.error}\n`);
    } finally {
      if (nbd) {
        await stopServer(nbd);
        rmSync(nbd.stateDir, { recursive: true, force: true });
      }
    }
  }

  const ok = (key) => results[key] && !results[key].error;
  const rps = (key) => (ok(key) ? results[key].requestsPerSec : NaN);
  const ratios = {
    httpVsFastapi: rps('http') / rps('fastapi'),
    httpVsBare: rps('http') / rps('bare'),
    httpWorkersVsFastapi: rps('http-workers') / rps('fastapi'),
    httpWorkersVsBare: rps('http-workers') / rps('bare'),
    wsPredictionsPerSec: rps('ws'),
    wsVsInProcess: rps('ws') / rps('inproc'),
    wsVsWsNoBatching: rps('ws') / rps('ws-nobatch'),
    grpcVsHttp: rps('grpc') / rps('http'),
    grpcVsWs: rps('grpc') / rps('ws'),
    httpVsInProcess: rps('http') / rps('inproc'),
    bareVsInProcess: rps('bare') / rps('inproc'),
    monitoringOnVsOff: rps('monitor-on') / rps('monitor-off'),
    monitoringCpuOnVsOff: ok('monitor-on') && ok('monitor-off') ? results['monitor-on'].serverCpuMicrosPerRequest / results['monitor-off'].serverCpuMicrosPerRequest : NaN,
    captureOnVsOff: rps('capture-on') / rps('capture-off'),
    // A day's status (ms, each asked back to back while the load runs), and what it does to inference p99.
    status24hMedianMs: statusTimes ? statusTimes.p50 : NaN,
    status24hP95Ms: statusTimes ? statusTimes.p95 : NaN,
    status24hColdMs: statusTimes ? statusTimes.coldMs : NaN,
    statusP99WithVsWithout: ok('status-on') && ok('status-off') ? results['status-on'].latencyMs.p99 / results['status-off'].latencyMs.p99 : NaN,
    isolationFastP99: isolation && !isolation.error ? isolation.fastP99Ratio : NaN,
    isolationLiveP99Ms: isolation && !isolation.error ? isolation.liveP99LoadedMs : NaN
  };
  const targets = {
    // FastAPI on two uvicorn workers (uvloop, httptools); the bare server does no checks at all.
    httpVsFastapi: { aim: 5, met: ratios.httpVsFastapi >= 5 },
    httpVsBare: { aim: 1.5, met: ratios.httpVsBare >= 1.5 },
    // The same aims for the service on every core (FastAPI has two workers too).
    httpWorkersVsFastapi: { aim: 5, met: ratios.httpWorkersVsFastapi >= 5 },
    httpWorkersVsBare: { aim: 1.5, met: ratios.httpWorkersVsBare >= 1.5 },
    wsPredictionsPerSec: { aim: 200_000, met: ratios.wsPredictionsPerSec >= 200_000 },
    // Under 5 % throughput lost to monitoring.
    monitoringOnVsOff: { aim: 0.95, met: ratios.monitoringOnVsOff >= 0.95 },
    // Capture at rate 0.1 costs at most 3 % of the monitored HTTP throughput.
    captureOnVsOff: { aim: 0.97, met: ratios.captureOnVsOff >= 0.97 },
    status24hMedianMs: { aim: 250, met: ratios.status24hMedianMs <= 250 },
    statusP99WithVsWithout: { aim: 2, met: ratios.statusP99WithVsWithout <= 2 },
    // A busy slow model may at most triple the fast model's p99; liveness stays under 20 ms.
    isolationFastP99: { aim: 3, met: ratios.isolationFastP99 <= 3 },
    isolationLiveP99Ms: { aim: 20, met: ratios.isolationLiveP99Ms < 20 }
  };
  const verdict = (t, value) => (Number.isFinite(value) ? (t.met ? 'met' : 'NOT met') : 'not measured');

  const rows = SCENARIOS.filter((s) => results[s.key]).map((s) => results[s.key]);
  console.log('\n' + table(rows) + '\n');
  console.log('latency: per request, send to reply (in-process: one session.run call)');
  console.log('CPU columns in % of one core (all threads): server; its CPU time per request; the load generator (this process);');
  console.log('  other = the rest of the machine (other processes, kernel networking): high values mean the numbers are disturbed');
  console.log('rows/run: mean rows per onnxruntime run inside nbdeploy (dynamic batching merges requests)\n');
  console.log(`nbdeploy HTTP / FastAPI       ${fmtRatio(ratios.httpVsFastapi, 1).padStart(8)}   (aim ≥ 5×: ${verdict(targets.httpVsFastapi, ratios.httpVsFastapi)})`);
  console.log(`nbdeploy HTTP / bare server   ${fmtRatio(ratios.httpVsBare, 1).padStart(8)}   (aim ≥ 1.5×: ${verdict(targets.httpVsBare, ratios.httpVsBare)})`);
  console.log(`HTTP --workers 2 / FastAPI    ${fmtRatio(ratios.httpWorkersVsFastapi, 1).padStart(8)}   (aim ≥ 5×: ${verdict(targets.httpWorkersVsFastapi, ratios.httpWorkersVsFastapi)})`);
  console.log(`HTTP --workers 2 / bare       ${fmtRatio(ratios.httpWorkersVsBare, 1).padStart(8)}   (aim ≥ 1.5×: ${verdict(targets.httpWorkersVsBare, ratios.httpWorkersVsBare)})`);
  console.log(`nbdeploy WS predictions/s     ${fmtInt(ratios.wsPredictionsPerSec).padStart(8)}   (aim ≥ 200,000: ${verdict(targets.wsPredictionsPerSec, ratios.wsPredictionsPerSec)})`);
  console.log(`nbdeploy WS / in-process      ${fmtRatio(ratios.wsVsInProcess).padStart(8)}`);
  console.log(`nbdeploy WS batching / off    ${fmtRatio(ratios.wsVsWsNoBatching).padStart(8)}`);
  console.log(`nbdeploy HTTP / in-process    ${fmtRatio(ratios.httpVsInProcess).padStart(8)}`);
  console.log(`nbdeploy gRPC / HTTP          ${fmtRatio(ratios.grpcVsHttp).padStart(8)}`);
  console.log(`nbdeploy gRPC / WS            ${fmtRatio(ratios.grpcVsWs).padStart(8)}`);
  const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');
  console.log(`monitoring on / off, req/s    ${pct(ratios.monitoringOnVsOff).padStart(8)}   (aim ≥ 95%: ${verdict(targets.monitoringOnVsOff, ratios.monitoringOnVsOff)})`);
  console.log(`monitoring on / off, CPU/req  ${pct(ratios.monitoringCpuOnVsOff).padStart(8)}`);
  console.log(`capture 0.1 / none, req/s     ${pct(ratios.captureOnVsOff).padStart(8)}   (aim ≥ 97%: ${verdict(targets.captureOnVsOff, ratios.captureOnVsOff)})`);
  if (statusTimes) {
    console.log(
      `24 h status, ms               ${fmtMs(ratios.status24hMedianMs).padStart(8)}   (median of ${statusTimes.count} asked during (k); aim ≤ 250 ms: ${verdict(targets.status24hMedianMs, ratios.status24hMedianMs)};` +
        ` p95 ${fmtMs(statusTimes.p95)}, first after start ${fmtMs(statusTimes.coldMs)})`
    );
  }
  console.log(`inference p99, (k) / (j)      ${fmtRatio(ratios.statusP99WithVsWithout).padStart(8)}   (aim ≤ 2×: ${verdict(targets.statusP99WithVsWithout, ratios.statusP99WithVsWithout)})`);
  if (isolation && !isolation.error) {
    const { alone, loaded } = isolation;
    console.log(
      `\nisolation (iris, ${isolation.connections} connections; then beside 4 clients keeping the slow model busy, ${isolation.slowRunsPerSecond.toFixed(1)} runs/s of 64 rows):` +
        `\n  iris p50/p99 ms        alone ${fmtMs(alone.fast.p50)} / ${fmtMs(alone.fast.p99)}   beside the slow model ${fmtMs(loaded.fast.p50)} / ${fmtMs(loaded.fast.p99)}` +
        `   (${fmtInt(alone.requestsPerSecond)} → ${fmtInt(loaded.requestsPerSecond)} req/s)` +
        `\n  /v2/health/live p99 ms alone ${fmtMs(alone.live.p99)}   beside the slow model ${fmtMs(loaded.live.p99)}`
    );
    console.log(`iris p99 beside / alone       ${fmtRatio(ratios.isolationFastP99, 1).padStart(8)}   (aim ≤ 3×: ${verdict(targets.isolationFastP99, ratios.isolationFastP99)})`);
    console.log(`liveness p99 beside, ms       ${fmtMs(ratios.isolationLiveP99Ms).padStart(8)}   (aim < 20 ms: ${verdict(targets.isolationLiveP99Ms, ratios.isolationLiveP99Ms)})`);
  } else if (isolation?.error) {
    console.log(`\nisolation: FAILED: ${isolation.error.split('\n')[0]}`);
  }
  const fastapiInfo = results.fastapi?.info;
  if (fastapiInfo) {
    console.log(`\nFastAPI: ${JSON.stringify(fastapiInfo)}`);
    if (fastapiInfo.loop !== 'uvloop' || fastapiInfo.http !== 'httptools') {
      console.log(
        'warning: FastAPI ran without uvloop/httptools, slower than a standard `uvicorn[standard]` deployment, so' +
          ' the ratios against it flatter nbdeploy: .venv/bin/pip install --retries 0 uvloop httptools'
      );
    }
  }

  const out = {
    date: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
      onnxruntimeNode: ortVersion,
      loadAverageAtStart: loadBefore
    },
    config: { model: 'iris_classifier.onnx', rowsPerRequest: 1, connections: CONNECTIONS, wsDepth: WS_DEPTH, grpcDepth: GRPC_DEPTH, warmupSeconds: WARMUP, seconds: SECONDS, sessionOptions: SESSION_OPTIONS, nbdeployBatching },
    scenarios: rows.map(({ latencies, ...r }) => r),
    isolation,
    ratios,
    targets
  };
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  console.log(`\nresults: ${path.relative(ROOT, RESULTS)} (${Math.round(out.durationSeconds)} s)`);
  if (rows.some((r) => r.error) || isolation?.error) process.exitCode = 1;
}

const entry = process.argv.includes('memory') ? runMemory : process.argv.includes('overload') ? runOverload : process.argv.includes('replicas') ? runReplicas : main;
entry().catch((error) => {
  console.error(error);
  killAll();
  process.exit(1);
});
