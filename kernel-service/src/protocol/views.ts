/**
 * Registry records as the wire shows them (snake_case JSON), shared by the WebSocket
 * protocol and the live events.
 */
import { type GatePolicy, type ProductionGate, productionGate } from '../serving/production-gate.js';
import type { AuditEntry, ModelSummary, ReviewRecord, ValidationRecord, VersionRecord } from '../registry/registry.js';

export interface VersionView {
  version: number;
  sha256: string;
  stage: string;
  created_at: string;
  created_by: string;
  signature: VersionRecord['signature'];
  metadata: Record<string, unknown>;
  batching: { max_batch_size: number; max_queue_delay_us: number; instances: number; max_queue_size: number };
  validation: {
    id: number;
    passed: boolean;
    created_at: string;
    created_by: string;
    review: { decision: string; by: string; at: string; comment: string } | null;
  } | null;
  /** Whether promoting this version to production is possible now, and if not, why. */
  production_gate: ProductionGate;
}

export interface ModelView {
  name: string;
  created_at: string;
  deployment: {
    serving: boolean;
    production: number | null;
    canary: { version: number; percent: number } | null;
    shadows: number[];
    /** Per integrity kind: "refuse" or "serve" (docs/monitoring.md, Integrity). */
    integrity_policy: Record<string, string>;
    /** The share of served requests kept for inspection and replay; null: none. */
    capture: { rate: number; retention_days: number } | null;
    updated_at: string;
  };
  versions: VersionView[];
}

export function versionView(v: VersionRecord, gate: GatePolicy): VersionView {
  return {
    version: v.version,
    sha256: v.sha256,
    stage: v.stage,
    created_at: v.createdAt,
    created_by: v.createdBy,
    signature: v.signature,
    metadata: v.metadata,
    batching: {
      max_batch_size: v.batching.maxBatchSize,
      max_queue_delay_us: v.batching.maxQueueDelayMicros,
      instances: v.batching.instances,
      max_queue_size: v.batching.maxQueueSize
    },
    validation: v.validation
      ? { id: v.validation.id, passed: v.validation.passed, created_at: v.validation.createdAt, created_by: v.validation.createdBy, review: v.validation.review }
      : null,
    production_gate: productionGate(v, gate)
  };
}

export function modelView(m: ModelSummary, gate: GatePolicy): ModelView {
  const d = m.deployment;
  return {
    name: m.name,
    created_at: m.createdAt,
    deployment: {
      serving: d.serving,
      production: d.production,
      canary: d.canary,
      shadows: d.shadows,
      integrity_policy: { ...d.integrityPolicy },
      capture: d.capture ? { rate: d.capture.rate, retention_days: d.capture.retentionDays } : null,
      updated_at: d.updatedAt
    },
    versions: m.versions.map((v) => versionView(v, gate))
  };
}

export function auditView(e: AuditEntry): Record<string, unknown> {
  return { id: e.id, at: e.at, actor: e.actor, notebook: e.notebook, cell: e.cell, action: e.action, model: e.model, version: e.version, details: e.details };
}

export function validationView(v: ValidationRecord, reviews: readonly ReviewRecord[]): Record<string, unknown> {
  return {
    id: v.id,
    model: v.model,
    version: v.version,
    passed: v.passed,
    created_at: v.createdAt,
    created_by: v.createdBy,
    report: v.report,
    reviews: reviews
      .filter((r) => r.validationId === v.id)
      .map((r) => ({ id: r.id, decision: r.decision, comment: r.comment, by: r.createdBy, at: r.createdAt }))
  };
}
