/**
 * What every HTTP route, WebSocket message and gRPC method needs: one declarative table.
 * Transports look their route or message up here before doing anything; a route registered
 * without an entry fails the service at start (routes.ts), and the role matrix test reads
 * this table together with the real lists of routes and message types.
 * `null`: open to anyone (the health probes).
 */
import type { Ability } from './roles.js';

export interface Requirement {
  ability: Ability;
  /** The ability a request needs when it carries this field (an override is the admin's). */
  escalate?: { field: string; ability: Ability };
}

const needs = (ability: Ability, escalate?: Requirement['escalate']): Requirement => (escalate ? { ability, escalate } : { ability });
const OVERRIDE = { field: 'override', ability: 'admin' } as const;

/** HTTP routes, as `METHOD path` in find-my-way's syntax. */
export const HTTP_PERMISSIONS: Readonly<Record<string, Requirement | null>> = {
  'GET /v2/health/live': null,
  'GET /v2/health/ready': null,
  'GET /v2': needs('metadata'),
  'GET /v2/models/:name': needs('metadata'),
  'GET /v2/models/:name/versions/:version': needs('metadata'),
  'GET /v2/models/:name/ready': needs('metadata'),
  'GET /v2/models/:name/versions/:version/ready': needs('metadata'),
  'POST /v2/models/:name/infer': needs('infer'),
  'POST /v2/models/:name/versions/:version/infer': needs('infer'),
  'POST /v2/repository/index': needs('view'),
  'POST /v2/repository/models/:name/load': needs('deploy'),
  'POST /v2/repository/models/:name/unload': needs('deploy'),
  'GET /metrics': needs('view'),
  'POST /v2/nbdeploy/users/:name/tokens': needs('admin')
};

/** WebSocket messages by `type` (text and binary frames alike). */
export const WS_PERMISSIONS: Readonly<Record<string, Requirement>> = {
  infer: needs('infer'),
  list: needs('view'),
  get_model: needs('view'),
  get_validation: needs('view'),
  validation_page: needs('view'),
  get_profile: needs('view'),
  subscribe: needs('view'),
  unsubscribe: needs('view'),
  audit: needs('view'),
  status: needs('view'),
  monitor: needs('view'),
  get_alert_rules: needs('view'),
  list_alerts: needs('view'),
  register: needs('deploy'),
  validate: needs('deploy'),
  deploy: needs('deploy', OVERRIDE),
  promote: needs('deploy', OVERRIDE),
  set_canary: needs('deploy'),
  set_shadow: needs('deploy'),
  rollback: needs('deploy'),
  undeploy: needs('deploy'),
  feedback: needs('deploy'),
  set_alert_rules: needs('deploy'),
  set_alert_webhooks: needs('deploy'),
  // Captured requests are served inputs: reading them, or replaying them, is a deployer's.
  set_capture: needs('deploy'),
  captured: needs('deploy'),
  replay: needs('deploy'),
  inspect: needs('deploy'),
  review: needs('review'),
  set_integrity_policy: needs('admin')
};

/** gRPC methods of inference.GRPCInferenceService. */
export const GRPC_PERMISSIONS: Readonly<Record<string, Requirement | null>> = {
  ServerLive: null,
  ServerReady: null,
  ServerMetadata: needs('metadata'),
  ModelMetadata: needs('metadata'),
  ModelReady: needs('metadata'),
  ModelInfer: needs('infer')
};

/** Abilities that a token limited to some models (`users add --models`) may use only on those. */
export const MODEL_SCOPED: readonly Ability[] = ['infer', 'metadata'];
