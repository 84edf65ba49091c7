/**
 * `<state dir>/service.lock`: which process serves a state dir. A second service started on
 * the same dir by accident (two terminals, two labs) is refused with a message naming the
 * one already there, instead of both serving one database with routing tables that drift
 * apart. Replicas of one service share the dir on purpose: the processes of `--workers N`
 * and a `nbdeploy serve --join` do not take the lock. A lock left by a killed process
 * (its pid is gone) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from './process-alive.js';

export const LOCK_FILE = 'service.lock';

interface LockNote {
  pid: number;
  since: string;
}

export class StateLock {
  private constructor(private readonly _file: string) {}

  /** Takes the state dir's lock for this process; throws, naming the holder, when a live process has it. */
  static acquire(stateDir: string): StateLock {
    const file = path.join(stateDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        try {
          writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() } satisfies LockNote) + '\n');
        } finally {
          closeSync(fd);
        }
        return new StateLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readLock(file);
      if (holder && (holder.pid === process.pid || isProcessAlive(holder.pid))) {
        throw new Error(
          `the state dir ${stateDir} is in use by another nbdeploy service (pid ${holder.pid}, since ${holder.since}); ` +
            'give each service its own --state-dir, or start this one with --join to serve as a replica of that service'
        );
      }
      // Left by a process that is gone (or half-written as it died): taken over.
      rmSync(file, { force: true });
    }
    throw new Error(`could not take the lock ${file}: another process keeps taking it`);
  }

  /** Gives the lock up if this process still holds it. */
  release(): void {
    if (readLock(this._file)?.pid === process.pid) rmSync(this._file, { force: true });
  }
}

function readLock(file: string): LockNote | null {
  try {
    const note = JSON.parse(readFileSync(file, 'utf8')) as LockNote;
    return Number.isInteger(note.pid) ? note : null;
  } catch {
    return null;
  }
}
