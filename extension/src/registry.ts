/**
 * The registry as the service describes it (`Model` in docs/protocol.md): what the Models
 * sidebar lists. Also the alerts that arrive as live events, read generically so that new
 * fields the service adds do not break the panel.
 */

/** A version's latest validation report, and the latest review of it. */
export interface IValidationStatus {
  id: number;
  passed: boolean;
  created_at: string;
  created_by: string;
  review: { decision: string; by: string; at: string; comment: string } | null;
}

/** Whether promoting a version to production is possible now, and if not, why (the service's reason). */
export interface IProductionGate {
  open: boolean;
  reason: string | null;
}

export interface IModelVersion {
  version: number;
  sha256: string;
  stage: string;
  created_at: string;
  created_by: string;
  validation: IValidationStatus | null;
  /** Absent from older services. */
  production_gate?: IProductionGate;
}

export interface IModelDeployment {
  serving: boolean;
  production: number | null;
  canary: { version: number; percent: number } | null;
  shadows: number[];
  /** The share of requests kept and for how long; null: none kept. Absent from older services. */
  capture?: ICaptureSettings | null;
  updated_at: string;
}

/** What a deployment keeps of its served requests (`set_capture`). */
export interface ICaptureSettings {
  /** The share of requests kept, in (0, 1]. */
  rate: number;
  retention_days: number;
}

export interface IModel {
  name: string;
  created_at: string;
  deployment: IModelDeployment;
  versions: IModelVersion[];
}

/** A version's part of the model's traffic, as the sidebar shows it. */
export interface IVersionTraffic {
  role: 'production' | 'canary' | 'shadow' | 'none';
  /** Production and canary shares add up to 100; a shadow mirrors every request. */
  percent: number;
}

/** The roles a version plays in its model's deployment (a canary may also be a shadow). */
export function trafficOf(model: IModel, version: number): IVersionTraffic[] {
  const { production, canary, shadows } = model.deployment;
  const shares: IVersionTraffic[] = [];
  if (production === version) {
    shares.push({ role: 'production', percent: 100 - (canary?.percent ?? 0) });
  }
  if (canary?.version === version) {
    shares.push({ role: 'canary', percent: canary.percent });
  }
  if (shadows.includes(version)) {
    shares.push({ role: 'shadow', percent: 100 });
  }
  return shares;
}

/** `passed`, `failed` or `none`, and the reviewer's decision where there is one. */
export function validationOf(version: IModelVersion): { status: 'passed' | 'failed' | 'none'; review: string | null } {
  const validation = version.validation;
  if (!validation) {
    return { status: 'none', review: null };
  }
  return { status: validation.passed ? 'passed' : 'failed', review: validation.review?.decision ?? null };
}

/** Why promoting a version to production is held; null when it is not (or the service does not say). */
export function heldReason(version: IModelVersion): string | null {
  const gate = version.production_gate;
  return gate && !gate.open ? (gate.reason ?? 'the service holds it') : null;
}

/**
 * An alert from a live event of kind `alert` (a monitoring rule firing or resolving).
 * Only `state` decides anything; the rest is shown as far as it is present.
 */
export interface IAlert {
  /** Identifies one firing of one rule: the same alert is notified once. */
  key: string;
  model: string;
  rule: string;
  state: 'firing' | 'resolved' | string;
  severity: string;
  message: string;
  metric?: string;
  value?: number;
  threshold?: number;
  version?: number;
  /** When it fired (or resolved), as the service says. */
  at: string;
}

/** Reads an `alert` event's data; fields of other types than expected are left out. */
export function alertFromEvent(model: string, data: unknown): IAlert {
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof d[key] === 'string' ? (d[key] as string) : undefined);
  const number = (key: string): number | undefined => (typeof d[key] === 'number' ? (d[key] as number) : undefined);
  const rule = text('rule') ?? text('name') ?? text('metric') ?? 'alert';
  const state = text('state') ?? 'firing';
  const version = number('version');
  const firedAt = text('fired_at') ?? text('at') ?? new Date().toISOString();
  const metric = text('metric');
  const value = number('value');
  const threshold = number('threshold');
  const message =
    text('message') ??
    [metric ?? rule, value !== undefined ? `= ${value}` : null, threshold !== undefined ? `(threshold ${threshold})` : null]
      .filter(Boolean)
      .join(' ');
  return {
    key: `${model}\u0000${rule}\u0000${version ?? ''}\u0000${text('fired_at') ?? text('id') ?? number('id') ?? ''}`,
    model,
    rule,
    state,
    severity: text('severity') ?? 'warning',
    message,
    metric,
    value,
    threshold,
    version,
    at: state === 'resolved' ? (text('resolved_at') ?? firedAt) : firedAt
  };
}
