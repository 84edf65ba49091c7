/**
 * Errors the TypeScript notebook API throws. A service error keeps the service's code
 * (docs/errors.md), so a notebook can tell a wrong input from a missing model:
 * `catch (e) { if (e instanceof nd.ServiceError && e.code === 'NBD_ERR_MODEL_NOT_FOUND') … }`.
 */

/** Base class of nbdeploy's notebook errors. */
export class NbdeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The service refused or failed a request; `code` is its NBD_ERR_* code. */
export class ServiceError extends NbdeployError {
  readonly code: string;
  readonly status: number | null;
  /** The service's message, without the code. */
  readonly detail: string;

  constructor(code: string, detail: string, status: number | null = null) {
    super(`${detail} [${code}]`);
    this.code = code;
    this.detail = detail;
    this.status = status;
  }
}

/** Production needs a passing validation report (or an override reason). */
export class DeployRefusedError extends ServiceError {}

/** No service answers at the URL. */
export class ServiceUnreachableError extends NbdeployError {
  readonly url: string;
  /** What went wrong, without the advice. */
  readonly reason: string;

  constructor(url: string, reason: string) {
    super(
      `cannot reach the nbdeploy service at ${url}: ${reason}. ` +
        'Start it with `nbdeploy serve` (or `make start` in the nbdeploy repository), ' +
        'or point nd.connect({ url, token }) / NBDEPLOY_URL at a running one.'
    );
    this.url = url;
    this.reason = reason;
  }
}

/** The data does not fit the model's signature (or the labels do not fit the data); the message names what. */
export class InputError extends NbdeployError {}
