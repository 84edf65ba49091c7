/**
 * `nbdeploy lab` (what `make start` runs) leaves the checkout clean: JupyterLab opens
 * working copies of the examples in a git-ignored folder, so what running a notebook
 * writes — outputs, the live chart's snapshots, checkpoints — never touches tracked files.
 * A real `nbdeploy lab` with the project's JupyterLab, in a temporary git checkout holding
 * the repository's examples/ and .gitignore.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cleanup, makeTempDir } from '../support/service.js';

const TOKEN = 'lab-test-token';
let checkout: string;
let lab: ChildProcess;
let exited: Promise<void>;
let log = '';
let base: string;

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], { cwd: checkout, encoding: 'utf8' });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function jupyter(route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${route}`, { ...init, headers: { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' } });
}

beforeAll(async () => {
  checkout = makeTempDir('nbdeploy-lab-');
  cpSync(path.join(ROOT, 'examples'), path.join(checkout, 'examples'), { recursive: true });
  cpSync(path.join(ROOT, '.gitignore'), path.join(checkout, '.gitignore'));
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'the examples');

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const args = [
    BIN, 'lab', '--no-browser', '--port', String(port), '--service-port', '0', '--',
    `--IdentityProvider.token=${TOKEN}`,
    `--LabApp.user_settings_dir=${makeTempDir()}`,
    `--LabApp.workspaces_dir=${makeTempDir()}`,
    '--NotebookNotary.db_file=:memory:'
  ];
  const env = { ...process.env, PYTHONPATH: [path.join(ROOT, 'python-bridge'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  delete env.NBDEPLOY_TOKEN;
  // Its own process group, so that stopping it (by its pid) reaches JupyterLab too.
  lab = spawn(process.execPath, args, { cwd: checkout, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [lab.stdout!, lab.stderr!]) stream.on('data', (chunk: Buffer) => (log += chunk.toString()));
  exited = new Promise((resolve) => lab.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  for (;;) {
    if (!running) throw new Error(`nbdeploy lab exited before JupyterLab answered; its log:\n${log}`);
    if (await jupyter('/api/status').then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 90_000);

afterAll(async () => {
  if (lab?.pid && lab.exitCode === null && lab.signalCode === null) {
    process.kill(-lab.pid, 'SIGTERM');
    await exited;
  }
  await cleanup();
});

describe('nbdeploy lab', () => {
  it('should open a working copy of the quickstart, with the files the examples read beside it', async () => {
    // Jupyter serves the folder of the file it opens: the working copies' folder.
    expect(log).toMatch(/starting \S+ lab .*my-notebooks\/quickstart\.ipynb/);
    for (const name of ['quickstart.ipynb', 'typescript-quickstart.ipynb', 'cancer.onnx', 'cancer-data.json']) {
      const res = await jupyter(`/api/contents/${name}?content=0`);
      expect(res.status, name).toBe(200);
    }
    expect((await jupyter('/api/contents/make_quickstart.py?content=0')).status).toBe(404);
  });

  it('should leave the checkout clean when the notebook is run, saved and checkpointed', async () => {
    const tracked = readFileSync(path.join(checkout, 'examples', 'quickstart.ipynb'));
    const route = '/api/contents/quickstart.ipynb'; // my-notebooks/quickstart.ipynb
    const notebook = (await (await jupyter(route)).json()) as { content: { cells: Array<{ cell_type: string; outputs?: unknown[] }> } };
    // What running and saving does: outputs in the cells, then JupyterLab's save and checkpoint.
    const cell = notebook.content.cells.find((c) => c.cell_type === 'code')!;
    cell.outputs = [{ output_type: 'stream', name: 'stdout', text: 'ran\n' }];
    const saved = await jupyter(route, { method: 'PUT', body: JSON.stringify({ type: 'notebook', format: 'json', content: notebook.content }) });
    expect(saved.status).toBe(200);
    expect((await jupyter(`${route}/checkpoints`, { method: 'POST' })).status).toBe(201);

    expect(git('status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(readFileSync(path.join(checkout, 'examples', 'quickstart.ipynb'))).toEqual(tracked);
    expect(readFileSync(path.join(checkout, 'my-notebooks', 'quickstart.ipynb'), 'utf8')).toContain('ran\\n');
  });
});
