/**
 * Authorisation: whether a principal (a token's user) may do what a route or message asks,
 * by the permission table. A refusal names the role needed.
 */
import { ServiceError } from '../errors.js';
import { MODEL_SCOPED, type Requirement } from './permissions.js';
import { type Role, hasAbility, roleNeeded } from './roles.js';

/** Who a request's token belongs to. */
export interface Principal {
  /** The token's user; with the service token, the Jupyter user the server extension names. */
  user: string;
  role: Role;
  /** The models an inference user may use; null: all. */
  models: string[] | null;
  /** True for the service's own token (serve --token): the credential the Jupyter server extension holds. */
  service: boolean;
}

/**
 * Throws NBD_ERR_FORBIDDEN unless the principal may: `action` is what the refusal calls it
 * ("POST /v2/repository/index", "send promote"), `model` the model it is about, `fields`
 * the message (for escalations such as `override`).
 */
export function authorize(principal: Principal, requirement: Requirement | null, action: string, model?: string, fields?: Record<string, unknown>): void {
  if (requirement === null) return;
  const refuse = (need: string): never => {
    throw new ServiceError('NBD_ERR_FORBIDDEN', { user: principal.user, role: principal.role, action, need });
  };
  const { ability, escalate } = requirement;
  if (!hasAbility(principal.role, ability)) refuse(`it needs role ${roleNeeded(ability)}${ability === 'admin' ? '' : ' (or admin)'}`);
  if (escalate && fields?.[escalate.field] !== undefined && !hasAbility(principal.role, escalate.ability)) {
    refuse(`"${escalate.field}" needs role ${roleNeeded(escalate.ability)}`);
  }
  if (principal.models && model !== undefined && MODEL_SCOPED.includes(ability) && !principal.models.includes(model)) {
    refuse(`this token may use only the models ${principal.models.map((m) => `"${m}"`).join(', ')}, not "${model}"`);
  }
}
