// Monitoring history for the bench's 24 h status scenario, written straight into a state
// dir's database through the monitoring store (lib/, built by `npm run bench`), so that a day
// of windows takes seconds to make rather than a day to serve. The service must not be
// running on that state dir meanwhile (its monitoring worker caches what it has read).
//
// What it writes is what a monitored model of `features` numeric features serving
// `rowsPerMinute` rows a minute leaves: per window, `requests` requests of equal size (their
// latencies drawn from 1–5 ms), every row's features in the drift reservoirs (each feature
// drawn around its profile's mean, the second half of the day shifted on the first five
// features, so that drift shows), the predicted labels; and the hour blocks the store keeps.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lib = (p) => import(path.join(ROOT, 'lib/kernel-service', p));

/** A seeded uniform [0, 1) generator (an LCG: fast, and the same history for the same seed). */
function uniform(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

/** The names of a model's features: f00, f01, … */
export function featureNames(count) {
  return Array.from({ length: count }, (_, i) => `f${String(i).padStart(2, '0')}`);
}

/** A training profile for `count` numeric features (1,000 draws each, feature j around j) and a binary label. */
export function historyProfile(count, seed = 7) {
  const u = uniform(seed);
  const features = {};
  featureNames(count).forEach((name, j) => {
    features[name] = { kind: 'numeric', null_rate: 0, min: j - 1, max: j + 1, sample: Array.from({ length: 1000 }, () => j + (u() - 0.5)) };
  });
  return { features, prediction: { kind: 'categorical', sample: Array.from({ length: 1000 }, (_, i) => String(i % 2)) } };
}

/**
 * Writes `hours` of one-minute windows of (model, version), ending at the last whole minute
 * before `end`, into the SQLite database `file`. Returns the count of windows, the first and last
 * window starts (ms) and the seconds taken.
 */
export async function writeHistory({ file, model, version = 1, features = 30, rowsPerMinute = 2000, requestsPerMinute = 100, hours = 24, end = Date.now(), seed = 1 }) {
  const { SqliteMonitoringStore } = await lib('monitoring/store.js');
  const { MonitorWindow, mergeWindowStates } = await lib('monitoring/window.js');
  const started = performance.now();
  const store = new SqliteMonitoringStore(file, mergeWindowStates);
  const names = featureNames(features);
  const u = uniform(seed);
  const last = Math.floor(end / 60_000) * 60_000 - 60_000;
  const first = last - (hours * 60 - 1) * 60_000;
  const rowsPerRequest = Math.max(1, Math.round(rowsPerMinute / requestsPerMinute));
  let batch = [];
  let windows = 0;
  try {
    for (let start = first; start <= last; start += 60_000) {
      const w = new MonitorWindow(model, version, start, 60);
      const shifted = start - first >= (hours * 3600_000) / 2;
      for (let r = 0; r < requestsPerMinute; r++) w.served.add(rowsPerRequest, 1 + 4 * u(), null);
      names.forEach((name, j) => {
        const acc = w.feature(name, 'numeric');
        const centre = j + (shifted && j < 5 ? 1 : 0);
        for (let i = 0; i < rowsPerRequest * requestsPerMinute; i++) acc.reservoir.add(centre + (u() - 0.5));
      });
      const labels = w.predictions('categorical');
      for (let i = 0; i < rowsPerRequest * requestsPerMinute; i++) labels.counter.add(u() < 0.5 ? '0' : '1');
      batch.push(w.toJSON());
      windows++;
      // An hour per transaction: its block is merged once.
      if (batch.length === 60) {
        await store.saveWindows(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await store.saveWindows(batch);
  } finally {
    await store.close();
  }
  return { windows, first, last, seconds: (performance.now() - started) / 1000 };
}
