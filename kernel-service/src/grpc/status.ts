/**
 * Service errors as gRPC statuses: the code follows the error's HTTP status, the message is
 * the `details`, and the nbdeploy code (NBD_ERR_…) travels in the `nbd-error-code` trailer.
 */
import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { asServiceError } from '../errors.js';

/** Trailing metadata key that carries the nbdeploy error code. */
export const ERROR_CODE_KEY = 'nbd-error-code';

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
  // Shutting down, an unloaded model, a full queue: worth retrying later, as Triton says.
  503: status.UNAVAILABLE
};

export function grpcStatusOf(httpStatus: number): status {
  return BY_HTTP_STATUS[httpStatus] ?? (httpStatus >= 500 ? status.INTERNAL : status.INVALID_ARGUMENT);
}

/** Any thrown value as the status a unary call ends with. */
export function grpcError(error: unknown): Partial<StatusObject> {
  const failure = asServiceError(error);
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, failure.code);
  return { code: grpcStatusOf(failure.status), details: failure.message, metadata };
}
