/**
 * Every error the service can return, in one catalogue (fastify's FST_ERR_* style).
 *
 * Each code has a message template, the HTTP status it is answered with, and the
 * WebSocket close code used when the error ends a connection (most WebSocket errors are
 * replies and leave the connection open). `docs/errors.md` documents every code; a test
 * checks that it does.
 */

interface ErrorSpec {
  /** Message template; `{name}` is replaced by the parameter of that name. */
  readonly message: string;
  readonly status: number;
  readonly closeCode: number;
}

const spec = (status: number, message: string, closeCode = 4000 + status): ErrorSpec => ({
  status,
  message,
  closeCode
});

export const ERRORS = {
  NBD_ERR_UNAUTHORIZED: spec(
    401,
    'missing or invalid token: send "Authorization: Bearer <token>" (the token is in the service\'s state dir, file "token")'
  ),
  NBD_ERR_ORIGIN_FORBIDDEN: spec(
    403,
    'origin {origin} is not allowed to open a WebSocket; start the service with --allow-origin {origin}'
  ),
  NBD_ERR_FORBIDDEN: spec(403, '{user} (role {role}) may not {action}: {need}'),
  NBD_ERR_USER_REVOKED: spec(403, 'user "{user}" was revoked at {at}; an admin adds a new user to give access again'),
  NBD_ERR_USER_EXISTS: spec(409, 'user "{user}" already exists (role {role}); revoke it first, or give it a token with POST /v2/nbdeploy/users/{user}/tokens'),
  NBD_ERR_USER_NOT_FOUND: spec(404, 'no user "{user}"'),
  NBD_ERR_OWN_WORK: spec(
    403,
    '{user} {did} version {version} of "{model}" and cannot review it; another reviewer must (four eyes)'
  ),
  NBD_ERR_ROUTE_NOT_FOUND: spec(404, 'no route for {method} {path}'),
  NBD_ERR_BODY_TOO_LARGE: spec(
    413,
    'request body of {size} bytes exceeds the limit of {limit} bytes (--max-request-bytes)',
    1009
  ),
  NBD_ERR_BAD_JSON: spec(400, 'request body is not valid JSON: {reason}'),
  NBD_ERR_BAD_REQUEST: spec(400, 'invalid request: {issues}'),
  NBD_ERR_BAD_FRAME: spec(400, 'malformed WebSocket frame: {reason}'),
  NBD_ERR_MODEL_NOT_FOUND: spec(404, 'model "{model}" is not registered'),
  NBD_ERR_VERSION_NOT_FOUND: spec(404, 'model "{model}" has no version {version}'),
  NBD_ERR_MODEL_UNAVAILABLE: spec(
    503,
    'model "{model}" is unloaded; load it with POST /v2/repository/models/{model}/load or deploy a version'
  ),
  NBD_ERR_VERSION_ARCHIVED: spec(
    409,
    'model "{model}" version {version} is archived and not served; deploy it again to serve it'
  ),
  NBD_ERR_INPUT_UNEXPECTED: spec(400, 'unexpected input "{name}"; model "{model}" takes {expected}'),
  NBD_ERR_INPUT_MISSING: spec(400, 'missing input "{name}": model "{model}" expects {expected}'),
  NBD_ERR_INPUT_DATATYPE: spec(400, 'input "{name}" has datatype {actual}; model "{model}" expects {expected}'),
  NBD_ERR_INPUT_SHAPE: spec(400, 'input "{name}" has shape {actual}; model "{model}" expects {expected}'),
  NBD_ERR_INPUT_DATA: spec(400, 'input "{name}": {reason}'),
  NBD_ERR_INTEGRITY_REFUSED: spec(400, 'input "{name}" refused by the model\'s integrity policy ({kind}): {detail}'),
  NBD_ERR_OUTPUT_NOT_FOUND: spec(400, 'requested output "{name}" does not exist; model "{model}" has {expected}'),
  NBD_ERR_MODEL_INVALID: spec(422, 'the ONNX model cannot be loaded: {reason}'),
  NBD_ERR_MODEL_EXTERNAL_DATA: spec(
    422,
    'tensor "{tensor}" keeps its data in "{location}", which {reason}'
  ),
  NBD_ERR_INFERENCE_FAILED: spec(500, 'inference failed for model "{model}" version {version}: {reason}'),
  NBD_ERR_OVERLOADED: spec(
    503,
    'model "{model}" version {version} is overloaded: {queued} requests are already queued (its max_queue_size); retry after {retry_after} s'
  ),
  NBD_ERR_DEPLOY_CONFLICT: spec(409, '{reason}'),
  NBD_ERR_VALIDATION_NOT_FOUND: spec(404, 'version {version} of "{model}" has no stored validation report{which}; validate it first'),
  NBD_ERR_VALIDATION_REQUIRED: spec(
    409,
    'version {version} of "{model}" cannot go to production: {reason}; validate it, or deploy with an override reason (recorded in the audit log)'
  ),
  NBD_ERR_FEATURE_NOT_FOUND: spec(404, 'version {version} of "{model}" has no feature "{feature}"; its features: {features}'),
  NBD_ERR_NOTHING_CAPTURED: spec(404, 'no captured rows of "{model}" version {version} from {from} to {to}: {reason}'),
  NBD_ERR_REPLAY_GATE: spec(409, 'version {version} of "{model}" is held by its replay gates: {reason}'),
  NBD_ERR_SHUTTING_DOWN: spec(503, 'the service is shutting down', 1001),
  NBD_ERR_INTERNAL: spec(500, 'internal error: {reason}', 1011)
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorParams = Record<string, string | number | bigint | boolean>;

/** An error with a catalogued code: transports turn it into an HTTP status or a WS reply. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly closeCode: number;
  readonly params: ErrorParams;

  constructor(code: ErrorCode, params: ErrorParams = {}) {
    const entry: ErrorSpec = ERRORS[code];
    super(formatMessage(entry.message, params));
    this.name = 'ServiceError';
    this.code = code;
    this.status = entry.status;
    this.closeCode = entry.closeCode;
    this.params = params;
  }

  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole
  );
}

/** Any thrown value as a ServiceError; unknown failures become NBD_ERR_INTERNAL. */
export function asServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) {
    return error;
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new ServiceError('NBD_ERR_INTERNAL', { reason });
}
