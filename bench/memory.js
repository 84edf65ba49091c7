// `npm run bench -- memory`: is the service's memory flat under sustained traffic? Ten
// million one-row requests (BENCH_MEMORY_REQUESTS) through an in-process nbdeploy service's
// data plane — the path REST and WebSocket share, without sockets — with monitoring on (a
// model with a training profile, so drift reservoirs, the predictions log, windows and the
// alert rules all work), sampling heap and RSS every second. Heap is compared after a full
// garbage collection at the start (after a warm-up) and at the end. See bench/README.md.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { irisProfile } from './ws-load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'test/fixtures/models/iris_classifier.onnx');
const EXPECTED = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/models/iris_classifier.expected.json'), 'utf8'));
const RESULTS = path.join(ROOT, 'bench/results/memory.json');

const MB = 1024 * 1024;

export async function runMemory() {
  const total = Math.round(Number(process.env.BENCH_MEMORY_REQUESTS ?? 10_000_000));
  const concurrency = Math.round(Number(process.env.BENCH_CONNECTIONS ?? 64));
  const warmup = Math.min(200_000, Math.floor(total / 10));
  if (!(total > 0 && concurrency > 0)) throw new Error('BENCH_MEMORY_REQUESTS and BENCH_CONNECTIONS must be positive');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const { Service } = await import('../lib/kernel-service/service.js');
  const { MODEL_FILE } = await import('../lib/kernel-service/registry/artifact-store.js');
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'nbdeploy-bench-memory-'));
  const service = new Service({ port: 0, stateDir, log: () => {} });
  await service.start();
  console.log(`nbdeploy memory bench: ${total.toLocaleString('en-US')} one-row requests, ${concurrency} concurrent, in-process data plane, monitoring on`);
  try {
    const model = 'iris_profiled';
    await service.deployer.register(model, new Map([[MODEL_FILE, readFileSync(MODEL)]]), { profile: irisProfile(EXPECTED.input) }, { user: 'bench' });
    const rows = EXPECTED.input;
    let sent = 0;
    let done = 0;
    let errors = 0;
    const samples = [];
    const sample = () => {
      const m = process.memoryUsage();
      samples.push({ requests: done, seconds: (performance.now() - started) / 1000, heapUsedMB: m.heapUsed / MB, rssMB: m.rss / MB, externalMB: m.external / MB });
    };
    const worker = async (limit) => {
      while (sent < limit) {
        const row = rows[sent++ % rows.length];
        try {
          await service.dataPlane.infer(model, undefined, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: Float32Array.from(row) }] }, 'ws');
        } catch {
          errors++;
        }
        done++;
      }
    };
    const drive = (limit) => Promise.all(Array.from({ length: concurrency }, () => worker(limit)));

    let started = performance.now();
    await drive(warmup);
    gc();
    const start = { ...process.memoryUsage(), requests: done };
    started = performance.now();
    sample();
    const timer = setInterval(sample, 1000);
    let nextReport = done + total / 10;
    const progress = setInterval(() => {
      if (done >= nextReport) {
        const s = samples.at(-1);
        console.log(`  ${done.toLocaleString('en-US').padStart(12)} requests  heap ${s.heapUsedMB.toFixed(1)} MB  rss ${s.rssMB.toFixed(1)} MB`);
        nextReport += total / 10;
      }
    }, 250);
    await drive(warmup + total);
    clearInterval(timer);
    clearInterval(progress);
    sample();
    const seconds = (performance.now() - started) / 1000;
    gc();
    const end = { ...process.memoryUsage(), requests: done };
    const peak = (f) => Math.max(...samples.map(f));
    const out = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version },
      config: { requests: total, warmupRequests: warmup, concurrency, path: 'in-process DataPlane.infer, one row per request, monitoring on' },
      seconds,
      requestsPerSec: (done - start.requests) / seconds,
      errors,
      droppedPredictions: service.monitor?.droppedPredictions ?? null,
      start: { heapUsedMB: start.heapUsed / MB, rssMB: start.rss / MB, externalMB: start.external / MB },
      end: { heapUsedMB: end.heapUsed / MB, rssMB: end.rss / MB, externalMB: end.external / MB },
      peak: { heapUsedMB: peak((s) => s.heapUsedMB), rssMB: peak((s) => s.rssMB) },
      samples
    };
    console.log(
      `\n${(done - start.requests).toLocaleString('en-US')} requests in ${seconds.toFixed(0)} s (${Math.round(out.requestsPerSec).toLocaleString('en-US')} req/s), ${errors} errors\n` +
        `heap after GC: ${out.start.heapUsedMB.toFixed(1)} MB at the start, ${out.end.heapUsedMB.toFixed(1)} MB at the end (peak ${out.peak.heapUsedMB.toFixed(1)} MB between collections)\n` +
        `RSS:           ${out.start.rssMB.toFixed(1)} MB at the start, ${out.end.rssMB.toFixed(1)} MB at the end (peak ${out.peak.rssMB.toFixed(1)} MB)`
    );
    mkdirSync(path.dirname(RESULTS), { recursive: true });
    writeFileSync(RESULTS, JSON.stringify(out, null, 2) + '\n');
    console.log(`results: ${path.relative(ROOT, RESULTS)}`);
    if (errors > 0) process.exitCode = 1;
  } finally {
    await service.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
