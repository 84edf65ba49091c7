import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ServiceError, asServiceError, type ErrorCode } from '../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('ERRORS', () => {
  it.each(Object.keys(ERRORS))('should document %s in docs/errors.md with its status', (code) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    expect(row).toContain(`| ${ERRORS[code as ErrorCode].status} |`);
  });

  it('should give every code an HTTP error status and a valid close code', () => {
    for (const spec of Object.values(ERRORS)) {
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      expect(spec.closeCode === 1001 || spec.closeCode === 1009 || spec.closeCode === 1011 || (spec.closeCode >= 4000 && spec.closeCode < 5000)).toBe(true);
    }
  });
});

describe('ServiceError', () => {
  it('should fill the message template from its parameters', () => {
    const error = new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model: 'churn', version: 3 });
    expect(error.message).toBe('model "churn" has no version 3');
    expect(error.toJSON()).toEqual({ error: 'model "churn" has no version 3', code: 'NBD_ERR_VERSION_NOT_FOUND' });
    expect(error.status).toBe(404);
  });

  it('should turn unknown failures into NBD_ERR_INTERNAL with their message', () => {
    const error = asServiceError(new TypeError('boom'));
    expect(error.code).toBe('NBD_ERR_INTERNAL');
    expect(error.message).toBe('internal error: boom');
  });
});
