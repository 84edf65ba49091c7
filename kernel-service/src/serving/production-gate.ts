/**
 * Whether a version may go to production now, and if not, why: the one rule the deployer
 * enforces and every model view shows (`production_gate`). An admin's override passes it
 * and is audited (deployer.ts).
 */
import type { VersionRecord } from '../registry/registry.js';

export interface GatePolicy {
  /** Production needs a passing validation report, with no changes requested since (off: `serve --allow-unvalidated`). */
  validationGate: boolean;
  /** Production also needs an approving review of that report by someone who neither registered nor validated the version (`serve --four-eyes`). */
  fourEyes: boolean;
}

/** The service's defaults: the validation gate on, four eyes off. */
export const DEFAULT_GATE: GatePolicy = { validationGate: true, fourEyes: false };

export interface ProductionGate {
  open: boolean;
  /** Why the gate is held; null when open. */
  reason: string | null;
}

export function productionGate(version: VersionRecord, policy: GatePolicy): ProductionGate {
  const held = (reason: string): ProductionGate => ({ open: false, reason });
  if (!policy.validationGate && !policy.fourEyes) return { open: true, reason: null };
  const validation = version.validation;
  if (!validation) return held('it has no validation report');
  if (!validation.passed) return held(`its latest validation report (#${validation.id}) did not pass its gates`);
  if (validation.review?.decision === 'request_changes') return held(`${validation.review.by} requested changes on validation report #${validation.id}`);
  if (policy.fourEyes) {
    const authors = [...new Set([version.createdBy, ...version.validatedBy])];
    const others = validation.approvedBy.filter((by) => !authors.includes(by));
    if (others.length === 0) {
      return held(`four eyes: validation report #${validation.id} needs an approving review by someone other than ${authors.join(' and ')}`);
    }
  }
  return { open: true, reason: null };
}
