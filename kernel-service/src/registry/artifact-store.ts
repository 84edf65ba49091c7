/**
 * Content-addressed, immutable model artifacts: `model.onnx` plus any external data files
 * beside it, kept under a key. `ArtifactStore` is the interface (a database-backed store can
 * follow); `FolderArtifactStore` keeps each artifact as the folder `<root>/<key>/`. A new
 * artifact is written into a temporary folder, flushed to disk, then renamed into place in
 * one step, so a killed process never leaves a half-written artifact under its key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from '../process-alive.js';

export const MODEL_FILE = 'model.onnx';

export interface StagedArtifact {
  /** sha256 of the ONNX bytes. */
  sha256: string;
  /** The artifact's key: sha256 of the ONNX bytes, or of all files when there are several. */
  key: string;
  /** A local temporary folder holding the files until commit (the model is checked from it first). */
  folder: string;
}

export interface ArtifactStore {
  /** Writes the files (`model.onnx` among them) where nothing refers to them yet, and computes the key. */
  stage(files: ReadonlyMap<string, Uint8Array>): Promise<StagedArtifact>;
  /** Keeps a staged artifact under its key; an artifact already there is kept as it is. */
  commit(staged: StagedArtifact): Promise<void>;
  /** Drops a staged artifact that will not be committed. */
  discard(staged: StagedArtifact): Promise<void>;
  /** Removes what was staged and never committed, and artifacts not in `keep`; returns what it removed. */
  sweep(keep: ReadonlySet<string>): Promise<string[]>;
  /**
   * A local folder holding the artifact's files (`model.onnx` and what lies beside it), to
   * load the model from; rejected when the store has no artifact under the key.
   */
  localFolder(key: string): Promise<string>;
}

/** The artifacts as folders under a root (the state dir's `artifacts/`). */
export class FolderArtifactStore implements ArtifactStore {
  constructor(private readonly _root: string) {
    mkdirSync(_root, { recursive: true });
  }

  async localFolder(key: string): Promise<string> {
    const folder = this._folderOf(key);
    if (key.startsWith('.') || key.includes('/') || !(await exists(path.join(folder, MODEL_FILE)))) {
      throw new Error(`the artifact store has no artifact "${key}" (${this._root})`);
    }
    return folder;
  }

  private _folderOf(key: string): string {
    return path.join(this._root, key);
  }

  /** A new temporary folder's path (not created): commit renames it under its key, sweep removes it when left behind. */
  temporaryFolder(): string {
    // The writer's pid in the name: a sweep leaves the folders of a live process (another replica registering now).
    return path.join(this._root, `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /** Whether the artifact is here. */
  has(key: string): Promise<boolean> {
    return exists(this._folderOf(key));
  }

  /** Writes the files (model.onnx first) to a temporary folder, flushed to disk. */
  async stage(files: ReadonlyMap<string, Uint8Array>): Promise<StagedArtifact> {
    const model = files.get(MODEL_FILE);
    if (!model) throw new Error(`an artifact needs ${MODEL_FILE}`);
    const sha256 = digest([model]);
    const names = [...files.keys()].sort();
    const key = files.size === 1 ? sha256 : digest(names.flatMap((n) => [Buffer.from(`${n}\0${files.get(n)!.length}\0`), files.get(n)!]));
    const folder = this.temporaryFolder();
    await mkdir(folder);
    for (const name of names) {
      const target = path.join(folder, name);
      await mkdir(path.dirname(target), { recursive: true });
      const handle = await open(target, 'wx');
      try {
        await handle.writeFile(files.get(name)!);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return { sha256, key, folder };
  }

  /** Moves a staged artifact under its key (one rename); an artifact already there is kept as it is. */
  async commit(staged: StagedArtifact): Promise<void> {
    const target = this._folderOf(staged.key);
    if (await exists(target)) {
      await this.discard(staged);
      return;
    }
    try {
      await rename(staged.folder, target);
    } catch (error) {
      // The same bytes, registered at the same time, were committed first: keep theirs.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await this.discard(staged);
    }
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await rm(staged.folder, { recursive: true, force: true });
  }

  /**
   * Removes temporary folders and artifacts no version refers to (left by a killed process).
   * `temporaryGraceMs` leaves temporary folders younger than that: another process on the same
   * folder (replicas on PostgreSQL sharing a state dir's cache) may be staging into one now.
   */
  async sweep(keep: ReadonlySet<string>, options: { temporaryGraceMs?: number } = {}): Promise<string[]> {
    const removed: string[] = [];
    const youngSince = Date.now() - (options.temporaryGraceMs ?? 0);
    for (const entry of await readdir(this._root)) {
      const temporary = entry.startsWith('.tmp-');
      // A folder still being written: its writer (the pid in its name) runs, or it is younger than the grace given.
      if (temporary && (isBeingWritten(entry) || (options.temporaryGraceMs && (await modifiedAt(path.join(this._root, entry))) > youngSince))) continue;
      if (temporary || !keep.has(entry)) {
        await rm(path.join(this._root, entry), { recursive: true, force: true });
        removed.push(entry);
      }
    }
    return removed;
  }
}

/** Whether a temporary folder's writer (its pid, in the name) is another process still running. */
function isBeingWritten(entry: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(entry)?.[1]);
  return Number.isInteger(pid) && pid !== process.pid && isProcessAlive(pid);
}

/** When a file or folder was last modified (ms), or 0 when it is gone. */
async function modifiedAt(p: string): Promise<number> {
  try {
    return (await stat(p)).mtimeMs;
  } catch {
    return 0;
  }
}

function digest(parts: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
