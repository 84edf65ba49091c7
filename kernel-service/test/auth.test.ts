import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateToken } from '../src/auth.js';
import { newToken } from '../src/people/tokens.js';

let temp: string;
afterEach(() => temp && rmSync(temp, { recursive: true, force: true }));

describe('loadOrCreateToken', () => {
  it('should make the state dir it needs readable by its owner only (0700), and the token file 0600', () => {
    temp = mkdtempSync(path.join(tmpdir(), 'nbdeploy-token-'));
    const stateDir = path.join(temp, 'a', 'state');
    const token = loadOrCreateToken(stateDir);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(stateDir, 'token')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateToken(stateDir)).toBe(token);
    expect(loadOrCreateToken(stateDir, 'given-token-of-enough-length')).toBe('given-token-of-enough-length');
  });
});

describe('newToken', () => {
  it('should never start a token with a dash, which a command line would read as an option', () => {
    // A base64url token starts with "-" one time in 64: 5,000 of them would hold ~78.
    const tokens = Array.from({ length: 5000 }, () => newToken(24));
    expect(tokens.filter((t) => t.startsWith('-'))).toEqual([]);
    expect(new Set(tokens.map((t) => t[0])).size).toBeGreaterThan(50);
    expect(tokens.every((t) => /^[A-Za-z0-9_-]{32}$/.test(t))).toBe(true);
  });
});
