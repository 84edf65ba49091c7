// `npm run bench -- replicas`: what replicas of one service buy and cost, on this machine.
//
// 1. Throughput of `nbdeploy serve --workers 2` against one process, for a compute-bound model
//    (bench/slow-model.js with a 16-wide input and a 1-wide output around its eight 1024×1024
//    layers, so that JSON costs little beside the compute; 256 rows per request, one instance
//    per process): a closed loop of
//    BENCH_REPLICAS_CLIENTS (default 8) HTTP clients for BENCH_SECONDS (default 8) after
//    BENCH_WARMUP_SECONDS (default 2), one process first, then two workers, measured in the
//    same run. Aim: ≥ 1.5× on 2 cores.
// 2. The cost of a merged `status`: the same 3,000 iris requests served by one process, then
//    by three replicas (one service and two `--join`ed to it, 1,000 requests each); the median
//    time of 30 `status` calls (1 h span, drift included) asked of one replica, against one
//    process's median.
// Results: bench/results/replicas.json and a table on stdout.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startServer, stopServer } from './processes.js';
import { SLOW_INPUT, slowModel } from './slow-model.js';
import { askRepeatedly, irisProfile, registerBinary } from './ws-load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/nbdeploy.js');
const IRIS = path.join(ROOT, 'test/fixtures/models/iris_classifier.onnx');
const RESULTS = path.join(ROOT, 'bench/results/replicas.json');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CLIENTS = Number(process.env.BENCH_REPLICAS_CLIENTS ?? 8);
const SLOW_ROWS = 256;
const NARROW = { inputWidth: 16, outputWidth: 1 };
const STATUS_CALLS = 30;
const PROBES = 20;
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];

export async function runReplicas() {
  const stateDirs = [];
  const services = [];
  const serve = async (args, stateDir = null) => {
    const dir = stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'nbdeploy-bench-replicas-'));
    if (!stateDir) stateDirs.push(dir);
    const server = await startServer('nbdeploy', process.execPath, [BIN, 'serve', '--port', '0', '--state-dir', dir, ...args]);
    server.stateDir = dir;
    server.token = readFileSync(path.join(dir, 'token'), 'utf8').trim();
    services.push(server);
    return server;
  };
  const stopAll = async () => {
    await Promise.all(services.splice(0).map((s) => stopServer(s)));
    for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  };
  const results = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' }, seconds: SECONDS, clients: CLIENTS };
  try {
    process.stdout.write(`throughput of a compute-bound model (${SLOW_ROWS} rows of 16 through eight 1024×1024 MatMuls to 1), ${CLIENTS} clients, ${SECONDS} s each\n`);
    for (const [key, args] of [
      ['one', []],
      ['workers2', ['--workers', '2']]
    ]) {
      const server = await serve(args);
      await load(server, 'slow', slowModel(NARROW));
      // Every worker serves the model before the clock starts (each adopts it from the registry).
      await untilServedEverywhere(server, 'slow', slowBody());
      results[key] = await closedLoop(server, 'slow', slowBody());
      process.stdout.write(`  ${key === 'one' ? 'one process ' : '--workers 2 '} ${results[key].requestsPerSec.toFixed(1)} req/s, p99 ${results[key].p99.toFixed(1)} ms, errors ${results[key].errors}\n`);
      await stopAll();
    }
    results.workersRatio = results.workers2.requestsPerSec / results.one.requestsPerSec;

    process.stdout.write(`the time of a merged status (${STATUS_CALLS} calls, 1 h span, drift included) after 3,000 iris requests\n`);
    const single = await serve([]);
    await load(single, 'iris', readFileSync(IRIS), { profile: irisProfile([IRIS_ROW]) });
    await untilServedEverywhere(single, 'iris', irisBody());
    await send(single, 'iris', 3000);
    results.statusOne = await statusTimes(single);
    await stopAll();
    const first = await serve([]);
    const others = [await serve(['--join'], first.stateDir), await serve(['--join'], first.stateDir)];
    await load(first, 'iris', readFileSync(IRIS), { profile: irisProfile([IRIS_ROW]) });
    for (const replica of [first, ...others]) await untilServedEverywhere(replica, 'iris', irisBody());
    for (const replica of [first, ...others]) await send(replica, 'iris', 1000);
    // Each replica publishes its open windows about once a second.
    await new Promise((r) => setTimeout(r, 2500));
    results.statusThree = await statusTimes(first);
    results.statusRatio = results.statusThree.median / results.statusOne.median;
    // The same traffic, the probes that waited for each replica to serve included.
    const expected = 3000 + 3 * PROBES;
    if (results.statusThree.requests !== expected) throw new Error(`the merged status counts ${results.statusThree.requests} requests, not ${expected}`);
    await stopAll();
  } finally {
    await stopAll();
  }
  process.stdout.write(
    `\n| measure | one process | replicas | ratio | aim |\n|---|---|---|---|---|\n` +
      `| compute-bound throughput (req/s) | ${results.one.requestsPerSec.toFixed(1)} | ${results.workers2.requestsPerSec.toFixed(1)} (--workers 2) | ${results.workersRatio.toFixed(2)}× | ≥ 1.5× |\n` +
      `| status, median (ms) | ${results.statusOne.median.toFixed(1)} | ${results.statusThree.median.toFixed(1)} (3 replicas) | ${results.statusRatio.toFixed(2)}× | — |\n`
  );
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(ROOT, RESULTS)}\n`);
}

const slowBody = () => JSON.stringify({ inputs: [{ name: SLOW_INPUT, shape: [SLOW_ROWS, NARROW.inputWidth], datatype: 'FP32', data: new Array(SLOW_ROWS * NARROW.inputWidth).fill(0.5) }] });
const irisBody = () => JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [IRIS_ROW] }] });

/**
 * Registers a model (served at once: the newest version serves while there is no production
 * one): with a training profile over WebSocket, else through Triton's repository route.
 */
async function load(server, model, bytes, extra = {}) {
  if (extra.profile) {
    const reply = await registerBinary(server.url, server.token, { type: 'register', id: 1, model, profile: extra.profile }, Buffer.from(bytes));
    if (reply.type === 'error') throw new Error(`registering ${model} failed: ${reply.code}: ${reply.error}`);
    return;
  }
  const parameters = { 'file:1/model.onnx': Buffer.from(bytes).toString('base64') };
  const res = await fetch(`${server.url}/v2/repository/models/${model}/load`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ parameters })
  });
  if (res.status !== 200) throw new Error(`loading ${model} failed: HTTP ${res.status} ${await res.text()}`);
}

async function infer(server, model, body) {
  const res = await fetch(`${server.url}/v2/models/${model}/infer`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

/** PROBES answers in a row (whichever worker takes each), within 30 s. */
async function untilServedEverywhere(server, model, body) {
  const until = Date.now() + 30_000;
  for (let ok = 0; ok < PROBES; ) {
    if (Date.now() > until) throw new Error(`${model} is not served by every worker within 30 s`);
    ok = (await infer(server, model, body)) === 200 ? ok + 1 : 0;
  }
}

async function send(server, model, count) {
  const body = irisBody();
  for (let i = 0; i < count; i += 50) {
    const codes = await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => infer(server, model, body)));
    if (codes.some((c) => c !== 200)) throw new Error(`inference failed: HTTP ${codes.find((c) => c !== 200)}`);
  }
}

/** CLIENTS closed loops (the next request when the answer came) for WARMUP + SECONDS; what the last SECONDS answered. */
async function closedLoop(server, model, body) {
  const start = performance.now();
  const measureFrom = start + WARMUP * 1000;
  const end = measureFrom + SECONDS * 1000;
  const latencies = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await infer(server, model, body);
        const t1 = performance.now();
        if (t0 < measureFrom || t1 > end) continue;
        if (status === 200) latencies.push(t1 - t0);
        else errors++;
      }
    })
  );
  latencies.sort((a, b) => a - b);
  return { requestsPerSec: latencies.length / SECONDS, p50: latencies[Math.floor(latencies.length * 0.5)] ?? NaN, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN, errors };
}

async function statusTimes(server) {
  let requests = null;
  let answered = 0;
  const asking = await askRepeatedly(server.url, server.token, { type: 'status', model: 'iris', last_seconds: 3600 }, (reply) => {
    requests = reply.ops.requests;
    answered++;
  });
  while (answered < STATUS_CALLS) await new Promise((r) => setTimeout(r, 20));
  const { latencies } = await asking.stop();
  const sorted = latencies.slice(0, STATUS_CALLS).sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], p90: sorted[Math.floor(sorted.length * 0.9)], requests };
}
