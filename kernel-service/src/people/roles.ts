/**
 * Roles and what each may do. A role is a set of abilities; the permission table
 * (permissions.ts) says which ability each route and message needs. Roles are not a ladder:
 * a reviewer reviews but does not deploy, a deployer deploys but does not review.
 */

export const ROLES = ['inference', 'viewer', 'deployer', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * infer: run the model; metadata: a model's signature and readiness (OIP metadata);
 * view: list, status, monitor, audit, alerts, reports; deploy: register/load, validate,
 * staging, canary, shadow, feedback, rollback, alert rules; review: approve or request changes;
 * admin: users, policies, production without a passing report (override).
 */
export const ABILITIES = ['infer', 'metadata', 'view', 'deploy', 'review', 'admin'] as const;
export type Ability = (typeof ABILITIES)[number];

const ROLE_ABILITIES: Record<Role, readonly Ability[]> = {
  inference: ['infer', 'metadata'],
  viewer: ['infer', 'metadata', 'view'],
  deployer: ['infer', 'metadata', 'view', 'deploy'],
  reviewer: ['infer', 'metadata', 'view', 'review'],
  admin: ABILITIES
};

/** The least role that has the ability: the one a refusal names. */
const NEEDED_ROLE: Record<Ability, Role> = {
  infer: 'inference',
  metadata: 'inference',
  view: 'viewer',
  deploy: 'deployer',
  review: 'reviewer',
  admin: 'admin'
};

export function hasAbility(role: Role, ability: Ability): boolean {
  return ROLE_ABILITIES[role].includes(ability);
}

/** The role to ask for: "deployer" (admins can always). */
export function roleNeeded(ability: Ability): Role {
  return NEEDED_ROLE[ability];
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
