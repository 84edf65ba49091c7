/**
 * Service errors as gRPC statuses: the code follows the error's HTTP status (a few codes by
 * name), the message is the `details`, and the nbdeploy code (NBD_ERR_…) travels in the
 * `nbd-error-code` trailer; a full queue also says when to retry (`retry-after`, seconds).
 */
import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { type ErrorCode, asServiceError } from '../errors.js';

/** Trailing metadata key that carries the nbdeploy error code. */
export const ERROR_CODE_KEY = 'nbd-error-code';
/** Trailing metadata key that says after how many seconds a refused call may be sent again. */
export const RETRY_AFTER_KEY = 'retry-after';

const BY_HTTP_STATUS: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  401: status.UNAUTHENTICATED,
  403: status.PERMISSION_DENIED,
  404: status.NOT_FOUND,
  // Archived versions, deployment conflicts: the request is fine, the state is not.
  409: status.FAILED_PRECONDITION,
  413: status.RESOURCE_EXHAUSTED,
  422: status.INVALID_ARGUMENT,
  429: status.RESOURCE_EXHAUSTED,
  500: status.INTERNAL,
  // Shutting down, an unloaded model: not there now, try later or elsewhere.
  503: status.UNAVAILABLE
};

/** Where the HTTP status says less than gRPC can: a full queue is there, but busy. */
export const BY_CODE: Partial<Record<ErrorCode, status>> = {
  NBD_ERR_OVERLOADED: status.RESOURCE_EXHAUSTED
};

export function grpcStatusOf(code: ErrorCode, httpStatus: number): status {
  return BY_CODE[code] ?? BY_HTTP_STATUS[httpStatus] ?? (httpStatus >= 500 ? status.INTERNAL : status.INVALID_ARGUMENT);
}

/** Any thrown value as the status a unary call ends with. */
export function grpcError(error: unknown): Partial<StatusObject> {
  const failure = asServiceError(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, failure.code);
  if (failure.params.retry_after !== undefined) metadata.set(RETRY_AFTER_KEY, String(failure.params.retry_after));
  return { code: grpcStatusOf(failure.code, failure.status), details: failure.message, metadata };
}
