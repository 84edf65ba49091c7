import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode, ServiceError } from '../src/errors.js';
import { BY_CODE, ERROR_CODE_KEY, RETRY_AFTER_KEY, grpcError, grpcStatusOf } from '../src/grpc/status.js';
import { resolveOptions } from '../src/options.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('grpcStatusOf', () => {
  it.each(Object.keys(ERRORS))('should give %s the gRPC status docs/errors.md names for it', (code) => {
    const httpStatus = ERRORS[code as ErrorCode].status;
    const grpcStatus = grpcStatusOf(code as ErrorCode, httpStatus);
    expect(grpcStatus).not.toBe(status.OK);
    expect(grpcStatus).not.toBe(status.UNKNOWN);
    // A code of its own has its own row, "| 503, `NBD_ERR_…` |"; the others go by HTTP status.
    const start = code in BY_CODE ? `| ${httpStatus}, \`${code}\` |` : `| ${httpStatus} |`;
    const row = doc.split('\n').find((line) => line.startsWith(start));
    expect(row, `docs/errors.md has no gRPC row "${start}"`).toBeDefined();
    expect(row).toContain(`| \`${status[grpcStatus]}\``);
  });

  it('should map what clients tell apart to the statuses gRPC clients expect', () => {
    const of = (code: ErrorCode) => grpcStatusOf(code, ERRORS[code].status);
    expect(of('NBD_ERR_UNAUTHORIZED')).toBe(status.UNAUTHENTICATED);
    expect(of('NBD_ERR_MODEL_NOT_FOUND')).toBe(status.NOT_FOUND);
    expect(of('NBD_ERR_VERSION_NOT_FOUND')).toBe(status.NOT_FOUND);
    expect(of('NBD_ERR_INPUT_SHAPE')).toBe(status.INVALID_ARGUMENT);
    expect(of('NBD_ERR_INTEGRITY_REFUSED')).toBe(status.INVALID_ARGUMENT);
    expect(of('NBD_ERR_BODY_TOO_LARGE')).toBe(status.RESOURCE_EXHAUSTED);
    expect(of('NBD_ERR_MODEL_UNAVAILABLE')).toBe(status.UNAVAILABLE);
    expect(of('NBD_ERR_SHUTTING_DOWN')).toBe(status.UNAVAILABLE);
    expect(of('NBD_ERR_VERSION_ARCHIVED')).toBe(status.FAILED_PRECONDITION);
    expect(of('NBD_ERR_INFERENCE_FAILED')).toBe(status.INTERNAL);
    // A full queue: busy, not gone (a 503 over HTTP, with Retry-After).
    expect(of('NBD_ERR_OVERLOADED')).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('should carry the message as details and the nbdeploy code in the trailers', () => {
    const error = grpcError(new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: 'churn' }));
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details).toBe('model "churn" is not registered');
    expect(error.metadata!.get(ERROR_CODE_KEY)).toEqual(['NBD_ERR_MODEL_NOT_FOUND']);
    const overloaded = grpcError(new ServiceError('NBD_ERR_OVERLOADED', { model: 'm', version: 1, queued: 64, retry_after: 2 }));
    expect(overloaded.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(overloaded.metadata!.get(RETRY_AFTER_KEY)).toEqual(['2']);
    const unexpected = grpcError(new Error('boom'));
    expect(unexpected.code).toBe(status.INTERNAL);
    expect(unexpected.metadata!.get(ERROR_CODE_KEY)).toEqual(['NBD_ERR_INTERNAL']);
  });
});

describe('--grpc-port', () => {
  it('should be off unless given, and take a port of its own', () => {
    expect(resolveOptions({}).grpcPort).toBeUndefined();
    expect(resolveOptions({ port: 8765, grpcPort: 8001 }).grpcPort).toBe(8001);
    expect(resolveOptions({ port: 0, grpcPort: 0 }).grpcPort).toBe(0);
    expect(() => resolveOptions({ port: 8765, grpcPort: 8765 })).toThrow('invalid option: --grpc-port and --port are both 8765; gRPC needs a port of its own');
    expect(() => resolveOptions({ grpcPort: 70000 })).toThrow('invalid option: --grpc-port must be 0–65535, got 70000');
  });
});
