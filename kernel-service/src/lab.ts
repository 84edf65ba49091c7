/**
 * `nbdeploy lab`: the service and JupyterLab together, for one person's machine. The
 * service runs in this process; JupyterLab runs as a child that inherits NBDEPLOY_URL and
 * NBDEPLOY_TOKEN, so nbdeploy's server extension attaches to this service instead of
 * starting its own. Stopping either stops both.
 *
 * JupyterLab opens working copies of the examples (in WORK_DIR, which git ignores), never the
 * tracked files: running a notebook writes its outputs, the live chart's snapshots and
 * checkpoints, and the checkout must stay clean.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Service } from './service.js';

/** The folder (beside examples/, ignored by git) where the examples' working copies live. */
export const WORK_DIR = 'my-notebooks';

export interface LabOptions {
  port: number;
  openBrowser: boolean;
  /** Extra arguments for `jupyter lab` (after `--`). */
  jupyterArgs: string[];
  /** The examples folder: its notebook `quickstart.ipynb` opens first, as a working copy, when it exists. */
  examples: string;
}

/**
 * Copies the examples' notebooks and the data files they read (everything but the scripts
 * that generate them) into `workDir`; a copy already there is the user's work and is kept.
 * Returns the names copied now.
 */
export function copyExamples(examples: string, workDir: string): string[] {
  const copied: string[] = [];
  mkdirSync(workDir, { recursive: true });
  for (const entry of readdirSync(examples, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.py')) continue;
    const target = path.join(workDir, entry.name);
    if (existsSync(target)) continue;
    copyFileSync(path.join(examples, entry.name), target);
    copied.push(entry.name);
  }
  return copied;
}

/** `NBDEPLOY_JUPYTER`, the project's `.venv/bin/jupyter`, or `jupyter` on PATH. */
export function findJupyter(cwd: string): string {
  if (process.env.NBDEPLOY_JUPYTER) return process.env.NBDEPLOY_JUPYTER;
  for (const root of [cwd, path.resolve(new URL('../..', import.meta.url).pathname)]) {
    const candidate = path.join(root, '.venv', 'bin', 'jupyter');
    if (existsSync(candidate)) return candidate;
  }
  return 'jupyter';
}

/** Runs JupyterLab against a started service; resolves with JupyterLab's exit code. */
export function runLab(service: Service, options: LabOptions, log: (message: string) => void): Promise<number> {
  const jupyter = findJupyter(process.cwd());
  const args = ['lab', `--port=${options.port}`];
  if (!options.openBrowser) args.push('--no-browser');
  if (process.getuid?.() === 0 && !options.jupyterArgs.includes('--allow-root')) args.push('--allow-root');
  // The person who runs `nbdeploy lab` owns its service: in JupyterLab they act as its admin,
  // as the holder of the serve token would (a single user notices no roles).
  if (!options.jupyterArgs.some((a) => a.startsWith('--Nbdeploy.user_role'))) args.push('--Nbdeploy.user_role=admin');
  args.push(...options.jupyterArgs);
  // The quickstart opens when JupyterLab serves this folder (Jupyter refuses a file to run
  // outside a root_dir given among the arguments).
  const ownRoot = options.jupyterArgs.some((a) => /^--(ServerApp\.root_dir|ServerApp\.notebook_dir|notebook-dir)=/.test(a));
  if (!ownRoot && existsSync(path.join(options.examples, 'quickstart.ipynb'))) {
    const copied = copyExamples(options.examples, WORK_DIR);
    if (copied.length > 0) log(`copied ${copied.join(', ')} from ${options.examples}/ into ${WORK_DIR}/ (your working copies: git ignores them; delete one to start it afresh)`);
    args.push(path.join(WORK_DIR, 'quickstart.ipynb'));
  }
  log(`starting ${jupyter} ${args.join(' ')}`);
  const child = spawn(jupyter, args, {
    stdio: 'inherit',
    env: { ...process.env, NBDEPLOY_URL: service.url, NBDEPLOY_TOKEN: service.token }
  });
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping JupyterLab (pid ${child.pid}), then the service`);
      child.kill('SIGTERM');
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    child.on('error', (error) => {
      log(`could not start JupyterLab (${jupyter}): ${error.message}; run \`make setup\` or set NBDEPLOY_JUPYTER`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)));
  });
}
