/**
 * The registry: what exists (models, immutable versions, stages, deployments) and who
 * changed it (the append-only audit log). An interface, so that a PostgreSQL backend can
 * follow the embedded SQLite one without touching its callers: every method answers a promise.
 */
import type { IntegrityPolicy } from '../protocol/integrity.js';
import type { Signature } from '../runtime/signature.js';

export const STAGES = ['none', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/** Who made a change, and from where — recorded with every change. */
export interface Actor {
  user: string;
  notebook?: string | null;
  /** The Jupyter cell id the change came from. */
  cell?: string | null;
}

export interface BatchingConfig {
  /** Most rows in one run; 0 or 1 turns batching off. */
  maxBatchSize: number;
  /** How long a request may wait for others before its batch runs (µs); 0 = only those already queued. */
  maxQueueDelayMicros: number;
  /** Worker threads with a session each (Triton's instance_group count): runs of this version in parallel. */
  instances: number;
  /** Requests that may wait for a run; past it requests get 503 with Retry-After. */
  maxQueueSize: number;
}

/** Serving settings of a version registered without any (and what older records lack). */
export const DEFAULT_BATCHING: BatchingConfig = { maxBatchSize: 64, maxQueueDelayMicros: 0, instances: 1, maxQueueSize: 1024 };

/** The most instances one version may have: each is a thread with its own copy of the model. */
export const MAX_INSTANCES = 64;

export interface VersionRecord {
  model: string;
  version: number;
  /** sha256 of the ONNX bytes. */
  sha256: string;
  /** Key of the artifact folder (equals sha256 unless the model has external data files). */
  artifact: string;
  signature: Signature;
  metadata: Record<string, unknown>;
  batching: BatchingConfig;
  stage: Stage;
  createdAt: string;
  createdBy: string;
  /** Everyone who stored a validation report of this version (four eyes: they cannot review it). */
  validatedBy: string[];
  /** The latest validation report's outcome, and the latest review of it. */
  validation: ValidationStatus | null;
}

export interface ValidationStatus {
  id: number;
  passed: boolean;
  createdAt: string;
  createdBy: string;
  review: { decision: ReviewDecision; by: string; at: string; comment: string } | null;
  /** Who approved this report (their latest review of it approves). */
  approvedBy: string[];
}

export interface Deployment {
  model: string;
  /** False once the model is unloaded: no route serves it until it is loaded again. */
  serving: boolean;
  production: number | null;
  canary: { version: number; percent: number } | null;
  shadows: number[];
  /** Per integrity kind: refuse the request (400) or serve it; counted either way. */
  integrityPolicy: IntegrityPolicy;
  /** A sample of served requests kept for inspection and replay; null: none kept. */
  capture: CaptureSettings | null;
  updatedAt: string;
}

/** Which share of a deployment's requests is kept (inputs and answers), and for how long. */
export interface CaptureSettings {
  /** The share of requests kept, in (0, 1]. */
  rate: number;
  retentionDays: number;
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  deployment: Deployment;
  versions: VersionRecord[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  notebook: string | null;
  cell: string | null;
  action: string;
  model: string | null;
  version: number | null;
  details: Record<string, unknown>;
}

export interface NewVersion {
  model: string;
  sha256: string;
  artifact: string;
  signature: Signature;
  metadata: Record<string, unknown>;
  batching: BatchingConfig;
  stage?: Stage;
  /** The training-data profile (kept apart: only validation and monitoring read it). */
  profile?: Record<string, unknown>;
}

/** A change to a model's deployment, applied in one transaction with its audit entry. */
export type DeploymentChange =
  | { kind: 'promote'; version: number }
  | { kind: 'stage'; version: number; stage: Exclude<Stage, 'production'> }
  | { kind: 'canary'; version: number; percent: number }
  | { kind: 'shadow'; version: number; enabled: boolean }
  | { kind: 'rollback' }
  | { kind: 'serving'; serving: boolean }
  | { kind: 'batching'; version: number; batching: BatchingConfig }
  | { kind: 'integrity_policy'; policy: IntegrityPolicy }
  | { kind: 'capture'; capture: CaptureSettings | null };

/** A validation report, stored with the version it validated (the report itself is the client's JSON). */
export interface ValidationRecord {
  id: number;
  model: string;
  version: number;
  passed: boolean;
  report: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
}

export const REVIEW_DECISIONS = ['approve', 'request_changes'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** A reviewer's decision on a validation report. */
export interface ReviewRecord {
  id: number;
  model: string;
  version: number;
  validationId: number;
  decision: ReviewDecision;
  comment: string;
  createdAt: string;
  createdBy: string;
}

export interface FeedbackRecord {
  requestId: string;
  model: string;
  groundTruth: unknown;
}

export interface Registry {
  /** Registers a version; the same ONNX bytes registered again return the existing version. */
  registerVersion(input: NewVersion, actor: Actor): Promise<{ version: VersionRecord; created: boolean }>;
  listModels(): Promise<ModelSummary[]>;
  getModel(name: string): Promise<ModelSummary | undefined>;
  getVersion(model: string, version: number): Promise<VersionRecord | undefined>;
  getProfile(model: string, version: number): Promise<Record<string, unknown> | undefined>;
  /** Applies a change atomically with its audit entry; returns the new summary. */
  changeDeployment(model: string, change: DeploymentChange, actor: Actor, details?: Record<string, unknown>): Promise<ModelSummary>;
  /** The version a rollback would return to: the latest earlier production version not itself rolled back from. */
  rollbackTarget(model: string): Promise<number | undefined>;
  /** Artifact keys that versions refer to (the artifact store keeps only these). */
  artifactKeys(): Promise<Set<string>>;
  /** Stores a validation report with its version (the latest one counts for deploy). */
  addValidation(model: string, version: number, passed: boolean, report: Record<string, unknown>, actor: Actor): Promise<ValidationRecord>;
  latestValidation(model: string, version: number): Promise<ValidationRecord | undefined>;
  /** A stored report by its id. */
  getValidation(id: number): Promise<ValidationRecord | undefined>;
  /** Records a reviewer's decision on the version's latest validation report. */
  addReview(model: string, version: number, decision: ReviewDecision, comment: string, actor: Actor): Promise<ReviewRecord>;
  reviews(model: string, version: number): Promise<ReviewRecord[]>;
  recordFeedback(records: readonly FeedbackRecord[], actor: Actor): Promise<number>;
  audit(filter: { model?: string; limit?: number }): Promise<AuditEntry[]>;
  /** Appends an entry for something that is not a registry change (an alert, new alert rules). */
  appendAudit(actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): Promise<void>;
  /**
   * A number that moves with every change, whichever replica made it (the newest audit
   * entry's id): replicas read it to notice changes made through the others.
   */
  changeMark(): Promise<number>;
  close(): Promise<void>;
}
