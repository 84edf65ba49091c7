/**
 * `<state dir>/service.json` while a service runs there: its pid, its URL and a hash of the
 * token it accepts (never the token). With it, `nbdeploy token` tells whether the state
 * dir's token file is the running service's token (it is not when the service was given
 * one with --token or NBDEPLOY_TOKEN), and the control-plane commands find the service's
 * URL. Written once listening (mode 0600), removed at stop; a note whose process is gone
 * (a crash) is ignored.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashToken } from './people/tokens.js';
import { isProcessAlive } from './process-alive.js';

export const SERVICE_NOTE = 'service.json';

export interface ServiceNote {
  pid: number;
  url: string;
  /** sha256 of the token the service accepts, hex. */
  token_sha256: string;
}

export function tokenHash(token: string): string {
  return hashToken(token).toString('hex');
}

export function writeServiceNote(stateDir: string, url: string, token: string): void {
  const note: ServiceNote = { pid: process.pid, url, token_sha256: tokenHash(token) };
  writeFileSync(path.join(stateDir, SERVICE_NOTE), JSON.stringify(note) + '\n', { mode: 0o600 });
}

/** Removes the note if this process wrote it (another service may have started on the same dir since). */
export function removeServiceNote(stateDir: string): void {
  if (readServiceNote(stateDir)?.pid === process.pid) rmSync(path.join(stateDir, SERVICE_NOTE), { force: true });
}

/** The note of the service running on `stateDir`, or null when none runs there. */
export function readServiceNote(stateDir: string): ServiceNote | null {
  let note: ServiceNote;
  try {
    note = JSON.parse(readFileSync(path.join(stateDir, SERVICE_NOTE), 'utf8')) as ServiceNote;
  } catch {
    return null;
  }
  return typeof note.pid === 'number' && isProcessAlive(note.pid) ? note : null;
}
