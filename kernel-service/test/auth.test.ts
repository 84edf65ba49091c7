import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateToken } from '../src/auth.js';

let temp: string;
afterEach(() => rmSync(temp, { recursive: true, force: true }));

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
