/**
 * `nbdeploy backup`: an online copy of the state database taken while the service serves
 * (inference load and a registration running at the same time), restored the way
 * docs/scale-out.md says — the copy as registry.sqlite in a new state dir, with artifacts/
 * and the token — and served there: the models, their production versions and the audit log
 * are there and intact. Bad arguments are refused naming what was wrong, and a backup never
 * overwrites a file.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { IRIS_METADATA, fixture, fp32, variant } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { BIN, ROOT, type ServiceProcess, cleanup, makeTempDir, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nbdeploy ARGS` without blocking this process (the load keeps running meanwhile). */
function nbdeploy(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let service: ServiceProcess;
let client: NotebookClient;
let work: string;

beforeAll(async () => {
  service = await startService();
  client = await NotebookClient.connect(service);
  work = makeTempDir('nbdeploy-backup-');
});

afterAll(async () => {
  await client?.close();
  await cleanup();
});

describe('nbdeploy backup', () => {
  it('should copy the state database while the service serves, and a state dir restored from it should serve the model', async () => {
    const v1 = await client.register('iris', IRIS, { metadata: IRIS_METADATA });
    await client.promote('iris', v1.version);

    // Inference load and a second registration while the backup runs.
    let stop = false;
    const failures: Reply[] = [];
    let served = 0;
    const load = (async () => {
      for (let n = 0; !stop; n++) {
        const reply = await client.request({ type: 'infer', model: 'iris', request_id: `load-${n}`, inputs: [fp32('input', [ROW])] });
        if (reply.type === 'infer_result') served++;
        else failures.push(reply);
      }
    })();
    const file = path.join(work, 'nbdeploy-backup.sqlite');
    let run: Run;
    try {
      const registering = client.register('fraud', variant(IRIS, 'fraud'), { metadata: IRIS_METADATA });
      run = await nbdeploy('backup', '--to', file, '--state-dir', service.stateDir);
      await registering;
    } finally {
      stop = true;
      await load;
    }
    expect(run.stderr).toMatch(/^backed up .*registry\.sqlite to .*nbdeploy-backup\.sqlite \(\d+ pages, \d+ bytes\)\n$/);
    expect(run.status).toBe(0);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.partial-${process.pid}`)).toBe(false);

    // Restored as the guide says: the copy, then the artifacts (copied after it) and the token.
    const restored = path.join(work, 'restored');
    mkdirSync(restored, { mode: 0o700 });
    cpSync(file, path.join(restored, 'registry.sqlite'));
    cpSync(path.join(service.stateDir, 'artifacts'), path.join(restored, 'artifacts'), { recursive: true });
    cpSync(path.join(service.stateDir, 'token'), path.join(restored, 'token'));
    const verify = await nbdeploy('audit', 'verify', '--state-dir', restored);
    expect(verify.stdout).toMatch(/^audit log intact: \d+ entries/);
    expect(verify.status).toBe(0);

    const copy = await startService({ stateDir: restored });
    expect(copy.token).toBe(service.token);
    const response = await request(copy.url, '/v2/models/iris/infer', {
      token: copy.token,
      body: { inputs: [fp32('input', [ROW])] }
    });
    expect(response.status, response.text).toBe(200);
    expect(response.json().model_version).toBe(String(v1.version));
    const copyClient = await NotebookClient.connect(copy);
    try {
      const { model } = await copyClient.call({ type: 'get_model', model: 'iris' });
      expect(model.deployment.production).toBe(v1.version);
      expect(model.versions.find((v: { version: number }) => v.version === v1.version).validation.passed).toBe(true);
    } finally {
      await copyClient.close();
    }
    await copy.stop();
  });

  it('should refuse to overwrite a file, and name what is wrong with its arguments', async () => {
    const taken = path.join(work, 'taken.sqlite');
    writeFileSync(taken, 'mine');
    const overwrite = await nbdeploy('backup', '--to', taken, '--state-dir', service.stateDir);
    expect(overwrite.status).toBe(2);
    expect(overwrite.stderr).toContain(`${taken} exists already; give a new file to --to (a backup never overwrites)`);

    const missingTo = await nbdeploy('backup', '--state-dir', service.stateDir);
    expect(missingTo.status).toBe(2);
    expect(missingTo.stderr).toContain('say where to write the copy: --to FILE');

    const noDatabase = await nbdeploy('backup', '--to', path.join(work, 'x.sqlite'), '--state-dir', path.join(work, 'nothing-here'));
    expect(noDatabase.status).toBe(2);
    expect(noDatabase.stderr).toContain(`no nbdeploy database in ${path.join(work, 'nothing-here')} (registry.sqlite)`);

    const noFolder = await nbdeploy('backup', '--to', path.join(work, 'no-such-folder', 'x.sqlite'), '--state-dir', service.stateDir);
    expect(noFolder.status).toBe(2);
    expect(noFolder.stderr).toContain(`the folder of --to, ${path.join(work, 'no-such-folder')}, does not exist`);
  });
});
