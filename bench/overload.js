// `npm run bench -- overload`: does memory stay bounded when a model gets ten times more
// requests than it can serve? An in-process nbdeploy service (monitoring on) serves the
// slow model of bench/slow-model.js, 8 rows per request. Its capacity is measured first
// (closed loop, 2 s); then requests arrive open-loop at 10× that rate for
// BENCH_OVERLOAD_SECONDS (default 60) through the data plane that HTTP and WebSocket share.
// Past the version's queue bound (max_queue_size, default 1,024 requests) requests are
// refused at once with NBD_ERR_OVERLOADED; heap and RSS are sampled every second, and the
// heap after a full GC is compared between the end of the first 10 s and the end.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SLOW_INPUT, SLOW_WIDTH, slowModel } from './slow-model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench/results/overload.json');
const MB = 1024 * 1024;
const ROWS = 8;
const FACTOR = 10;

export async function runOverload() {
  const seconds = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 60);
  if (!(seconds >= 15)) throw new Error('BENCH_OVERLOAD_SECONDS must be at least 15');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const { Service } = await import('../lib/kernel-service/service.js');
  const { MODEL_FILE } = await import('../lib/kernel-service/registry/artifact-store.js');
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'nbdeploy-bench-overload-'));
  const service = new Service({ port: 0, stateDir, log: () => {} });
  await service.start();
  try {
    const { version } = await service.deployer.register('slow', new Map([[MODEL_FILE, slowModel()]]), {}, { user: 'bench' });
    const queueBound = version.batching.maxQueueSize;
    const input = () => ({ name: SLOW_INPUT, datatype: 'FP32', shape: [ROWS, SLOW_WIDTH], data: new Float32Array(ROWS * SLOW_WIDTH).fill(0.5) });
    const infer = () => service.dataPlane.infer('slow', undefined, { inputs: [input()] }, 'http');

    // Capacity: what one closed loop per instance run slot gets through in 2 s.
    let served = 0;
    const until = performance.now() + 2000;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (performance.now() < until) {
        await infer();
        served++;
      }
    }));
    const capacity = served / 2;
    const rate = capacity * FACTOR;
    console.log(`nbdeploy overload bench: the slow model serves ${capacity.toFixed(0)} req/s of ${ROWS} rows; sending ${rate.toFixed(0)} req/s (${FACTOR}×) for ${seconds} s, queue bound ${queueBound}`);

    const counts = { sent: 0, ok: 0, refused: 0, other: 0, firstOther: null };
    const samples = [];
    let maxQueued = 0;
    const started = performance.now();
    const inflight = new Set();
    const send = () => {
      counts.sent++;
      const p = infer().then(
        () => counts.ok++,
        (error) => {
          if (error.code === 'NBD_ERR_OVERLOADED') counts.refused++;
          else {
            counts.other++;
            counts.firstOther ??= error.message;
          }
        }
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };
    // Open loop: every 10 ms, the requests due by now, whatever the answers.
    const ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (counts.sent < due) send();
      for (const q of service.server.queues()) maxQueued = Math.max(maxQueued, q.queued);
    }, 10);
    let heapAfter10s = null;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      samples.push({ seconds: (performance.now() - started) / 1000, heapUsedMB: m.heapUsed / MB, rssMB: m.rss / MB, inflight: inflight.size });
    }, 1000);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    gc();
    heapAfter10s = process.memoryUsage().heapUsed / MB;
    const rssAfter10s = process.memoryUsage().rss / MB;
    await new Promise((resolve) => setTimeout(resolve, (seconds - 10) * 1000));
    gc();
    const end = process.memoryUsage();
    clearInterval(ticker);
    clearInterval(sampler);
    await Promise.all(inflight);
    const peak = (f) => Math.max(...samples.map(f));
    const out = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version },
      config: { model: 'bench/slow-model.js', rowsPerRequest: ROWS, factor: FACTOR, seconds, queueBound },
      capacityPerSec: capacity,
      offeredPerSec: rate,
      ...counts,
      maxQueued,
      heapAfterGcMB: { after10s: heapAfter10s, end: end.heapUsed / MB },
      rssMB: { after10s: rssAfter10s, end: end.rss / MB, peak: peak((s) => s.rssMB) },
      peakInflight: peak((s) => s.inflight),
      samples
    };
    console.log(
      `\n${counts.sent.toLocaleString('en-US')} requests: ${counts.ok.toLocaleString('en-US')} served, ${counts.refused.toLocaleString('en-US')} refused with 503 (NBD_ERR_OVERLOADED), ${counts.other} other errors` +
        `\nqueue: at most ${maxQueued} waiting (bound ${queueBound}); requests in flight at most ${out.peakInflight}` +
        `\nheap after GC: ${heapAfter10s.toFixed(1)} MB after 10 s, ${out.heapAfterGcMB.end.toFixed(1)} MB at the end` +
        `\nRSS:           ${rssAfter10s.toFixed(1)} MB after 10 s, ${out.rssMB.end.toFixed(1)} MB at the end (peak ${out.rssMB.peak.toFixed(1)} MB)`
    );
    if (counts.other > 0) console.log(`first other error: ${counts.firstOther}`);
    mkdirSync(path.dirname(RESULTS), { recursive: true });
    writeFileSync(RESULTS, JSON.stringify(out, null, 2) + '\n');
    console.log(`results: ${path.relative(ROOT, RESULTS)}`);
    if (counts.other > 0 || maxQueued > queueBound) process.exitCode = 1;
  } finally {
    await service.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
