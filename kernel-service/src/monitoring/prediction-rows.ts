/**
 * The predictions log as both monitoring store backends keep it: a row per served row, and
 * which logged keys a feedback key finds (`<id>#0` also finds a single-row request logged
 * as `<id>`, and `<id>` one logged as `<id>#0`).
 */
import type { PredictionRecord } from './monitoring-store.js';

/** A row of `monitor_predictions`, as either backend reads it. */
export interface PredictionRow {
  seq: number;
  model: string;
  key: string;
  version: number;
  window_start: number;
  label: string | null;
  score: number | null;
  value: number | null;
  at: number;
}

/** The log's columns in the order `predictionValues` gives them. */
export const PREDICTION_COLUMNS = ['model', 'key', 'version', 'window_start', 'label', 'score', 'value', 'at'] as const;

/** A record's values in `PREDICTION_COLUMNS` order. */
export function predictionValues(r: PredictionRecord): Array<string | number | null> {
  return [r.model, r.key, r.version, r.windowStart, r.label, r.score, r.value, r.at];
}

export function toPrediction(row: PredictionRow): PredictionRecord {
  return { model: row.model, key: row.key, version: row.version, windowStart: row.window_start, label: row.label, score: row.score, value: row.value, at: row.at };
}

/** The logged keys a feedback key finds, the preferred first. */
export function loggedKeysOf(key: string): string[] {
  if (key.endsWith('#0')) return [key, key.slice(0, -2)];
  if (!key.includes('#')) return [key, `${key}#0`];
  return [key];
}
