/**
 * Data integrity as data: the kinds of violation, a deployment's policy (refuse or serve, per
 * kind) and its defaults, and the report admission (serving/admission.ts) hands to monitoring
 * with each request. Shared by serving, monitoring and the registry; no logic here.
 */
export const INTEGRITY_KINDS = ['missing_feature', 'unexpected_feature', 'type_mismatch', 'new_category', 'out_of_range', 'null_spike'] as const;
export type IntegrityKind = (typeof INTEGRITY_KINDS)[number];

export type IntegrityAction = 'refuse' | 'serve';
export type IntegrityPolicy = Record<IntegrityKind, IntegrityAction>;

/** Refuse what the model cannot answer meaningfully without guessing; serve (and count) the rest. */
export const DEFAULT_INTEGRITY_POLICY: IntegrityPolicy = {
  missing_feature: 'refuse',
  unexpected_feature: 'serve',
  type_mismatch: 'serve',
  new_category: 'serve',
  out_of_range: 'serve',
  // A window-level check: a single request is never refused for it.
  null_spike: 'serve'
};

export interface Violation {
  kind: IntegrityKind;
  /** The input or feature concerned. */
  feature: string;
  detail: string;
  /** Values of the request it concerns (rows of the feature). */
  rows: number;
  /** What serving does about it ("coerced to FP32", "dropped", "as sent"). */
  served: string;
  /** Whether the request was refused (for this or another violation). */
  refused: boolean;
}

/** Nulls seen in one feature of one request, with the training null rate to compare with. */
export interface FeatureNulls {
  feature: string;
  nulls: number;
  rows: number;
  trainingNullRate: number | null;
}

/** What monitoring learns of a request's integrity. */
export interface IntegrityReport {
  violations: Violation[];
  nulls: FeatureNulls[];
}
