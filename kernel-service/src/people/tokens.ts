/** Tokens: random bytes (base64url), stored and looked up as their sha256. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * `bytes` random bytes as base64url, never starting with "-": a token is given on command
 * lines (`--token TOKEN`), where a leading dash reads as an option.
 */
export function newToken(bytes = 32): string {
  for (;;) {
    const token = randomBytes(bytes).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Constant-time comparison of two hashes (the database found the row by the hash; this makes the match explicit). */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
