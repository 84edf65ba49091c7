/**
 * The validation report as the service computes and stores it (the `report` of a stored
 * validation, docs/protocol.md): the shape the extension's validation panel, `save_html`,
 * the review bar and the Python and TypeScript notebook APIs read. Types only.
 */
import type { GateResult } from './gates.js';
import type { ClassificationDetails, Curves, Metrics } from './metrics.js';

export interface FeatureDrift {
  method: string;
  statistic: number;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
}

/** What the client alone knows (its rows against the training rows' hashes): shown, never deciding. */
export interface SharedWithTraining {
  checked: boolean;
  rows?: number;
  share?: number;
  detail?: string;
  /** "client": sent as evidence with `validate`; it never decides `passed`. */
  source?: 'client';
}

export interface DataChecks {
  drift: Record<string, FeatureDrift>;
  drifted_features: string[];
  shared_with_training: SharedWithTraining;
}

export interface ChecklistItem {
  id: string;
  label: string;
  status: 'pass' | 'fail' | 'missing';
  detail: string;
}

export interface SliceResult {
  slice: string;
  rows: number;
  metrics: Metrics | null;
}

export interface ValidationReport {
  model: string;
  version: number;
  task: 'classification' | 'regression';
  rows: number;
  /** The service's verdict: no gate failed and no checklist item failed. */
  passed: boolean;
  metrics: Metrics;
  /** 95% bootstrap intervals, [low, high]. */
  intervals: Record<string, [number, number] | null>;
  /** How the intervals were drawn: reproducible from these. */
  bootstrap: { resamples: number; seed: number; level: number; generator: 'mulberry32' };
  /** The metrics recorded with the version at export or register. */
  training: Metrics;
  /** The production version's metrics on the same rows. */
  baseline: Metrics | null;
  baseline_version: number | null;
  gates: GateResult[];
  details: Partial<ClassificationDetails> & Curves;
  slices: SliceResult[];
  data_checks: DataChecks;
  checklist: ChecklistItem[];
  /** What the client sent as evidence, as it sent it. */
  evidence: Record<string, unknown>;
  /** Who asked for this validation (the registry's actor). */
  validated_by: string;
  created_at: string;
  /** The stored report's id in the registry (set once stored). */
  id: number | null;
}
