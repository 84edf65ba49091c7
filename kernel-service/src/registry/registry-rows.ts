/**
 * The registry's rows as both backends store them (the same tables and columns; JSON as text,
 * so that what a client sent reads back unchanged) and what they become in the Registry
 * interface. Booleans are INTEGER 0/1 on SQLite and BOOLEAN on PostgreSQL: read with Boolean().
 */
import { DEFAULT_INTEGRITY_POLICY, type IntegrityPolicy } from '../protocol/integrity.js';
import {
  type BatchingConfig,
  type CaptureSettings,
  DEFAULT_BATCHING,
  type Deployment,
  type ReviewDecision,
  type ReviewRecord,
  type Stage,
  type ValidationRecord,
  type VersionRecord
} from './registry.js';

/** Every column of `versions` but the profile, which only getProfile reads. */
export const VERSION_COLUMNS = 'model, version, sha256, artifact, signature, metadata, batching, stage, created_at, created_by';

export interface VersionRow {
  model: string;
  version: number;
  sha256: string;
  artifact: string;
  signature: string;
  metadata: string;
  batching: string;
  stage: Stage;
  created_at: string;
  created_by: string;
}

export interface DeploymentRow {
  model: string;
  serving: number | boolean;
  production: number | null;
  canary_version: number | null;
  canary_percent: number;
  shadows: string;
  integrity_policy: string;
  capture: string | null;
  updated_at: string;
}

export interface ValidationRow {
  id: number;
  model: string;
  version: number;
  passed: number | boolean;
  report: string;
  created_at: string;
  created_by: string;
}

export interface ReviewRow {
  id: number;
  model: string;
  version: number;
  validation_id: number;
  decision: ReviewDecision;
  comment: string;
  created_at: string;
  created_by: string;
}

/** A version as stored, before its validation status is added (withValidation). */
export function toVersion(row: VersionRow): VersionRecord {
  return {
    model: row.model,
    version: row.version,
    sha256: row.sha256,
    artifact: row.artifact,
    signature: JSON.parse(row.signature),
    metadata: JSON.parse(row.metadata),
    batching: { ...DEFAULT_BATCHING, ...(JSON.parse(row.batching) as Partial<BatchingConfig>) },
    stage: row.stage,
    createdAt: row.created_at,
    createdBy: row.created_by,
    validatedBy: [],
    validation: null
  };
}

export function toDeployment(row: DeploymentRow): Deployment {
  return {
    model: row.model,
    serving: Boolean(row.serving),
    production: row.production,
    canary: row.canary_version === null ? null : { version: row.canary_version, percent: row.canary_percent },
    shadows: JSON.parse(row.shadows) as number[],
    integrityPolicy: { ...DEFAULT_INTEGRITY_POLICY, ...(JSON.parse(row.integrity_policy) as Partial<IntegrityPolicy>) },
    capture: row.capture ? (JSON.parse(row.capture) as CaptureSettings) : null,
    updatedAt: row.updated_at
  };
}

export function toValidation(row: ValidationRow): ValidationRecord {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    passed: Boolean(row.passed),
    report: JSON.parse(row.report) as Record<string, unknown>,
    createdAt: row.created_at,
    createdBy: row.created_by
  };
}

export function toReview(row: ReviewRow): ReviewRecord {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    validationId: row.validation_id,
    decision: row.decision,
    comment: row.comment,
    createdAt: row.created_at,
    createdBy: row.created_by
  };
}

/**
 * The version with its validation status: the latest report, who validated it at all, the
 * latest review of that report, and who approves it (their own latest review of it approves).
 */
export function withValidation(version: VersionRecord, latest: ValidationRecord | undefined, validatedBy: string[], reviews: readonly ReviewRecord[]): VersionRecord {
  if (!latest) return version;
  const ofLatest = reviews.filter((r) => r.validationId === latest.id);
  const review = ofLatest.at(-1);
  const latestByPerson = new Map(ofLatest.map((r) => [r.createdBy, r.decision]));
  const approvedBy = [...latestByPerson].filter(([, decision]) => decision === 'approve').map(([by]) => by);
  return {
    ...version,
    validatedBy,
    validation: {
      approvedBy,
      id: latest.id,
      passed: latest.passed,
      createdAt: latest.createdAt,
      createdBy: latest.createdBy,
      review: review ? { decision: review.decision, by: review.createdBy, at: review.createdAt, comment: review.comment } : null
    }
  };
}
