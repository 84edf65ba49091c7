/**
 * Request bodies: refused with 413 before any byte is kept when Content-Length says they
 * are too large, and cut off at the limit when the length is not announced. Either way the
 * rest of the body is read and thrown away, as Node does for every response that leaves a
 * body unread: a client still sending gets the 413 rather than a reset connection (closing
 * a socket with unread data resets it, and the client's kernel drops the response it had not
 * read yet), and the connection stays usable, the rest framed as body, never as a request.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { ServiceError } from '../errors.js';
import { describeIssues } from '../protocol/oip.js';

export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    throw new ServiceError('NBD_ERR_BODY_TOO_LARGE', { size: declared, limit });
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume(); // no listener: the rest is discarded

        reject(new ServiceError('NBD_ERR_BODY_TOO_LARGE', { size: `more than ${limit}`, limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Parses a JSON body and checks it with a schema; errors name the offending fields. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, limit: number, schema: S, empty?: z.infer<S>): Promise<z.infer<S>> {
  const body = await readBody(req, limit);
  if (body.length === 0 && empty !== undefined) return empty;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ServiceError('NBD_ERR_BAD_JSON', { reason: (error as Error).message });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: describeIssues(parsed.error) });
  }
  return parsed.data;
}
