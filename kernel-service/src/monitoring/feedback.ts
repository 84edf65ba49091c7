/**
 * Feedback: delayed ground truth joined to the logged predictions it belongs to, added to the
 * performance of each prediction's window, and fed to the version's concept-drift detector
 * (stored with its state, so that it carries on across restarts).
 */
import { type PerformanceState, addClassification, addRegression } from './accumulators.js';
import { ADWIN, type DriftDetector, PageHinkley, restoreDetector } from './detectors.js';
import type { DetectorRecord, MonitoringStore, PredictionRecord } from './store.js';

export interface FeedbackItem {
  requestId: string;
  groundTruth: unknown;
}

/** Joins ground truth to logged predictions and adds it to their windows' performance; returns the rows joined. */
export async function joinFeedback(store: MonitoringStore, model: string, items: readonly FeedbackItem[], now: () => number): Promise<number> {
  const truth = new Map(items.map((i) => [i.requestId, i.groundTruth]));
  let joined = 0;
  await store.transaction(async () => {
    const claimed = await store.claimPredictions(model, [...truth.keys()]);
    const byWindow = new Map<string, Array<{ p: PredictionRecord; truth: unknown }>>();
    for (const { key, prediction } of claimed) {
      const group = `${prediction.version}:${prediction.windowStart}`;
      let list = byWindow.get(group);
      if (!list) byWindow.set(group, (list = []));
      list.push({ p: prediction, truth: truth.get(key) });
    }
    const touched = new Map<number, { detector: DriftDetector; detectedAt: number | null }>();
    for (const list of byWindow.values()) {
      const { version, windowStart } = list[0]!.p;
      let detector = touched.get(version);
      if (!detector) touched.set(version, (detector = await detectorOf(store, model, version, list[0]!.p)));
      await store.updatePerformance(model, version, windowStart, (state) => {
        for (const { p, truth: t } of list) {
          const error = addOutcome(state, p, t);
          if (error === null) continue;
          joined++;
          detector!.detector.update(error);
          if (detector!.detector.driftDetected) detector!.detectedAt = now();
        }
      });
    }
    for (const [version, d] of touched) await store.saveDetector(model, version, { state: d.detector.toJSON(), detectedAt: d.detectedAt });
  });
  return joined;
}

const DETECTOR_NAMES: Record<string, string> = { ddm: 'DDM', 'page-hinkley': 'PageHinkley', adwin: 'ADWIN' };

/** The detector's name as `status` shows it. */
export function detectorName(record: DetectorRecord): string {
  return DETECTOR_NAMES[(record.state as { kind?: string }).kind ?? ''] ?? 'unknown';
}

/** Labels as given: 0/1 or false/true make a binary problem whose positive class is 1 / true. */
export function guessPositive(p: PerformanceState): string | null {
  const labels = new Set([...Object.keys(p.classes), ...Object.keys(p.scores)]);
  if (labels.size === 0) return null;
  if ([...labels].every((l) => l === '0' || l === '1')) return '1';
  if ([...labels].every((l) => l === 'false' || l === 'true')) return 'true';
  return null;
}

async function detectorOf(store: MonitoringStore, model: string, version: number, first: PredictionRecord): Promise<{ detector: DriftDetector; detectedAt: number | null }> {
  const stored = await store.loadDetector(model, version);
  if (stored) {
    try {
      return { detector: restoreDetector(stored.state), detectedAt: stored.detectedAt };
    } catch {
      // A state that does not restore starts afresh.
    }
  }
  // 0/1 errors of a classifier: ADWIN (DDM false-alarms on i.i.d. streams, see docs/monitoring.md);
  // absolute errors of a regressor: Page-Hinkley watching for an increase.
  return { detector: first.label !== null ? new ADWIN() : new PageHinkley({ mode: 'up' }), detectedAt: null };
}

/** Adds one joined outcome; returns the detector's input (0/1 error, or |error|), or null if the truth does not fit. */
function addOutcome(state: PerformanceState, p: PredictionRecord, truth: unknown): number | null {
  const t = Array.isArray(truth) && truth.length === 1 ? truth[0] : truth;
  if (p.label !== null) {
    if (t === null || t === undefined || typeof t === 'object') return null;
    const truthText = String(t);
    addClassification(state, p.label, truthText, p.score);
    return p.label === truthText ? 0 : 1;
  }
  if (p.value !== null) {
    const y = typeof t === 'number' ? t : typeof t === 'string' ? Number(t) : NaN;
    if (!Number.isFinite(y) || !Number.isFinite(p.value)) return null;
    addRegression(state, p.value, y);
    return Math.abs(p.value - y);
  }
  return null;
}
