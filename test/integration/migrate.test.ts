/**
 * `nbdeploy migrate --from DIR --to URL`: a state dir a service used (a model registered and in
 * production, a user with a token) copied into an empty PostgreSQL database; `serve --database`
 * on it serves the model, the user's token works, and the audit log verifies in the database.
 * A target with tables in it is refused, and so is a state dir a service runs on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { IRIS_METADATA } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { usePostgres } from '../support/postgres.js';
import { IRIS, infer } from '../support/replicas.js';
import { type ServiceProcess, cleanup, makeTempDir, runNbdeploy, startService } from '../support/service.js';

const postgres = usePostgres();

const IRIS_INPUT = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] };

let used: ServiceProcess;
let version: number;
let ritaToken: string;
let entries: number;

beforeAll(async () => {
  used = await startService();
  const client = await NotebookClient.connect(used);
  try {
    const registered = await client.register('iris', IRIS, { metadata: IRIS_METADATA });
    version = registered.version;
    await client.promote('iris', version);
  } finally {
    await client.close();
  }
  const added = runNbdeploy(['users', 'add', 'rita', '--role', 'inference', '--state-dir', used.stateDir]);
  expect(added.status, added.stderr).toBe(0);
  ritaToken = added.stdout.trim();
  const verified = runNbdeploy(['audit', 'verify', '--state-dir', used.stateDir, '--json']);
  entries = JSON.parse(verified.stdout).entries;
}, 60_000);

afterAll(() => cleanup());

describe('nbdeploy migrate', () => {
  it('should refuse a state dir a service runs on', async () => {
    const url = await postgres().freshDatabase();
    const run = runNbdeploy(['migrate', '--from', used.stateDir, '--to', url]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/in use by another nbdeploy service/);
  });

  it('should copy the state into an empty database, where replicas serve it and the audit log verifies', async () => {
    await used.stop();
    const url = await postgres().freshDatabase();
    const run = runNbdeploy(['migrate', '--from', used.stateDir, '--to', url]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`audit log intact: ${entries} entries`);
    expect(run.stdout).toMatch(/1 artifact\(s\); rows: .*versions 1.*audit_log \d+.*users 2.*tokens 1/);

    const again = runNbdeploy(['migrate', '--from', used.stateDir, '--to', url]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/the target database is not empty \(it has the tables .*\); migrate into a new, empty database/);

    const replica = await startService({ stateDir: makeTempDir(), args: ['--database', url, '--token', used.token, '--no-monitoring'] });
    const client = await NotebookClient.connect(replica);
    try {
      expect((await infer(client, 'migrated')).model_version).toBe(version);
      const audit = await client.call({ type: 'audit', model: 'iris', limit: 100 });
      expect(audit.entries.map((e: { action: string }) => e.action)).toContain('register');
    } finally {
      await client.close();
    }
    const asRita = await request(replica.url, '/v2/models/iris/infer', { token: ritaToken, method: 'POST', body: IRIS_INPUT });
    expect(asRita.status, asRita.text).toBe(200);

    const verified = runNbdeploy(['audit', 'verify', '--database', url, '--json']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    expect(JSON.parse(verified.stdout).entries).toBeGreaterThanOrEqual(entries);
  });
});
