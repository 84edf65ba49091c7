/**
 * What a deployment change does, decided once for every backend: from the model as it is and the
 * change asked for, the stages to set, the production history to write, the new routing, and the
 * audit entry; or the conflict that refuses it. A backend applies the plan in one transaction
 * with its audit entry.
 */
import { ServiceError } from '../errors.js';
import type { IntegrityPolicy } from '../protocol/integrity.js';
import type { BatchingConfig, CaptureSettings, Deployment, DeploymentChange, ModelSummary, Stage, VersionRecord } from './registry.js';

export interface DeploymentPlan {
  /** Stages to set, in this order. */
  stages: Array<{ version: number; stage: Stage }>;
  /** The production version rolled back from (marked so that rollback never returns to it). */
  rolledBack: number | null;
  /** A version that becomes production (appended to the production history). */
  newProduction: number | null;
  /** The routing to write (serving, production, canary, shadows), or null when it stays. */
  routing: Deployment | null;
  batching: { version: number; batching: BatchingConfig } | null;
  integrityPolicy: IntegrityPolicy | null;
  /** Present when the capture settings change (null inside: capture stops). */
  capture: { settings: CaptureSettings | null } | null;
  /** The audit entry's version and details. */
  auditVersion: number | null;
  details: Record<string, unknown>;
}

/**
 * Plans `change` on `summary`. `rollbackTarget` is the version a rollback would return to
 * (Registry.rollbackTarget); only a rollback reads it.
 */
export function planDeploymentChange(summary: ModelSummary, change: DeploymentChange, rollbackTarget: number | undefined, details: Record<string, unknown> = {}): DeploymentPlan {
  const model = summary.name;
  const d = summary.deployment;
  const version = 'version' in change ? requireVersion(summary, change.version) : undefined;
  const { kind: _kind, ...changed } = change;
  const plan: DeploymentPlan = {
    stages: [],
    rolledBack: null,
    newProduction: null,
    routing: null,
    batching: null,
    integrityPolicy: null,
    capture: null,
    auditVersion: version?.version ?? null,
    details: { ...changed, ...details }
  };
  switch (change.kind) {
    case 'promote': {
      if (d.production !== null && d.production !== change.version) plan.stages.push({ version: d.production, stage: 'archived' });
      plan.stages.push({ version: change.version, stage: 'production' });
      plan.newProduction = change.version;
      const canary = d.canary?.version === change.version ? null : d.canary;
      plan.routing = { ...d, serving: true, production: change.version, canary, shadows: d.shadows.filter((v) => v !== change.version) };
      break;
    }
    case 'stage': {
      if (d.production === change.version) {
        throw conflict(`version ${change.version} of "${model}" is in production; promote another version or roll back first`);
      }
      plan.stages.push({ version: change.version, stage: change.stage });
      if (change.stage === 'archived') {
        const canary = d.canary?.version === change.version ? null : d.canary;
        plan.routing = { ...d, canary, shadows: d.shadows.filter((v) => v !== change.version) };
      }
      break;
    }
    case 'canary': {
      if (change.percent > 0 && d.production === null) {
        throw conflict(`"${model}" has no production version to split traffic with; promote one first`);
      }
      if (change.percent > 0 && d.production === change.version) {
        throw conflict(`version ${change.version} of "${model}" is already in production`);
      }
      if (change.percent > 0 && version!.stage !== 'staging') plan.stages.push({ version: change.version, stage: 'staging' });
      const canary = change.percent > 0 ? { version: change.version, percent: change.percent } : d.canary?.version === change.version ? null : d.canary;
      plan.routing = { ...d, canary };
      break;
    }
    case 'shadow': {
      if (change.enabled && d.production === change.version) {
        throw conflict(`version ${change.version} of "${model}" is in production; it cannot also shadow it`);
      }
      if (change.enabled && version!.stage !== 'staging') plan.stages.push({ version: change.version, stage: 'staging' });
      const others = d.shadows.filter((v) => v !== change.version);
      plan.routing = { ...d, shadows: change.enabled ? [...others, change.version] : others };
      break;
    }
    case 'rollback': {
      if (rollbackTarget === undefined) throw conflict(`"${model}" has no earlier production version to roll back to`);
      plan.rolledBack = d.production;
      plan.stages.push({ version: d.production!, stage: 'archived' }, { version: rollbackTarget, stage: 'production' });
      plan.newProduction = rollbackTarget;
      const canary = d.canary?.version === rollbackTarget ? null : d.canary;
      plan.routing = { ...d, serving: true, production: rollbackTarget, canary, shadows: d.shadows.filter((v) => v !== rollbackTarget) };
      plan.details = { ...plan.details, from: d.production, to: rollbackTarget };
      plan.auditVersion = rollbackTarget;
      break;
    }
    case 'serving':
      plan.routing = { ...d, serving: change.serving };
      break;
    case 'batching':
      plan.batching = { version: change.version, batching: change.batching };
      break;
    case 'integrity_policy':
      plan.integrityPolicy = change.policy;
      break;
    case 'capture':
      plan.capture = { settings: change.capture };
      break;
  }
  return plan;
}

export function requireVersion(summary: ModelSummary, version: number): VersionRecord {
  const record = summary.versions.find((v) => v.version === version);
  if (!record) throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model: summary.name, version });
  return record;
}

function conflict(reason: string): ServiceError {
  return new ServiceError('NBD_ERR_DEPLOY_CONFLICT', { reason });
}
