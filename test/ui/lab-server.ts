/**
 * Global setup of the browser tests: `nbdeploy lab` (the service and JupyterLab) on the
 * port and token the config chose, serving a temporary copy of examples/, with its own
 * state, settings and workspaces. Galata's in-page helpers come from the extension that
 * JupyterLab ships for it (`jupyterlab/galata`), which needs the app exposed in the page.
 * The returned teardown stops the process group it started, by its pid.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { FullConfig } from '@playwright/test';

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;

export default async function startLab(config: FullConfig): Promise<() => Promise<void>> {
  const root = path.resolve(path.dirname(config.configFile ?? '.'), '..', '..');
  const port = process.env.NBDEPLOY_UI_PORT;
  const token = process.env.NBDEPLOY_UI_TOKEN;
  const base = `http://127.0.0.1:${port}`;
  const temp = mkdtempSync(path.join(tmpdir(), 'nbdeploy-ui-'));
  const notebooks = path.join(temp, 'notebooks');
  cpSync(path.join(root, 'examples'), notebooks, { recursive: true });
  // TypeScript notebooks import `nbdeploy/notebook` through a node_modules above them, as
  // make setup links it in the repository (see the Makefile's tslab target).
  mkdirSync(path.join(temp, 'node_modules'));
  symlinkSync(root, path.join(temp, 'node_modules', 'nbdeploy'));
  // The tests save when they mean to: an autosave (every 2 min) that is still being written
  // when a test saves makes JupyterLab ask whether the file "changed on disk", and the
  // dialog holds the save until the test times out.
  const docmanager = path.join(temp, 'settings', '@jupyterlab', 'docmanager-extension');
  mkdirSync(docmanager, { recursive: true });
  writeFileSync(path.join(docmanager, 'plugin.jupyterlab-settings'), JSON.stringify({ autosave: false }));
  const python = path.join(root, '.venv', 'bin', 'python');
  const galataExtension = execFileSync(python, ['-c', 'import jupyterlab.galata as g, os; print(os.path.dirname(g.__file__))'], {
    encoding: 'utf8'
  }).trim();

  mkdirSync(path.join(root, 'test', 'output'), { recursive: true });
  const logFile = path.join(root, 'test', 'output', 'ui-lab.log');
  const log = openSync(logFile, 'w');
  const args = [
    path.join(root, 'bin', 'nbdeploy.js'),
    'lab',
    '--no-browser',
    '--port', String(port),
    '--service-port', '0',
    '--state-dir', path.join(temp, 'state'),
    '--',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${notebooks}`,
    `--LabApp.user_settings_dir=${path.join(temp, 'settings')}`,
    `--LabApp.workspaces_dir=${path.join(temp, 'workspaces')}`,
    // NBDEPLOY_UI_LABEXTENSIONS: a folder holding an `nbdeploy` labextension to test instead
    // of the one installed in .venv (a worktree's own build: a folder with a symlink
    // `nbdeploy -> ../python-bridge/nbdeploy/labextension`); extra paths come first.
    ...(process.env.NBDEPLOY_UI_LABEXTENSIONS ? [`--LabServerApp.extra_labextensions_path=${process.env.NBDEPLOY_UI_LABEXTENSIONS}`] : []),
    `--LabServerApp.extra_labextensions_path=${galataExtension}`,
    '--LabApp.expose_app_in_browser=True',
    // Notebook signatures kept in memory: a run trusts nothing from an earlier one, and
    // writes nothing into the user's Jupyter data dir.
    '--NotebookNotary.db_file=:memory:'
  ];
  // Its own process group (detached), so that stopping it reaches JupyterLab too. Run from
  // the notebooks' folder: from the repository, `nbdeploy lab` would also pass JupyterLab
  // examples/quickstart.ipynb to open, which Jupyter refuses outside its root_dir.
  // This checkout's Python package first (the .venv's editable install may point at another).
  const pythonPath = [path.join(root, 'python-bridge'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const lab = spawn(process.execPath, args, { cwd: notebooks, detached: true, stdio: ['ignore', log, log], env: { ...process.env, PYTHONPATH: pythonPath } });
  const exited = new Promise<number | null>(resolve => lab.on('exit', code => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));

  // `nbdeploy lab` stops JupyterLab (which shuts its kernels down) before it exits itself.
  const stop = async (): Promise<void> => {
    if (running && lab.pid) {
      signalGroup(lab.pid, 'SIGTERM');
      const timer = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        console.error(`nbdeploy lab (pid ${lab.pid}) did not stop in ${STOP_TIMEOUT_MS / 1000} s; killing its process group`);
        signalGroup(lab.pid, 'SIGKILL');
      }
    }
    rmSync(temp, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await ready(base, token!))) {
    if (!running || Date.now() > deadline) {
      await stop();
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`nbdeploy lab did not start on ${base} (${running ? 'timed out' : 'exited'}); its log (${logFile}) ends:\n${tail}`);
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
  return stop;
}

/** Whether the Jupyter server answers (its extensions, nbdeploy's included, load before it listens). */
async function ready(base: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/api/status`, { headers: { Authorization: `token ${token}` } });
    return response.ok;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
