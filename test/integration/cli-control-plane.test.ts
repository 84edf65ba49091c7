/**
 * The control plane for CI pipelines: `nbdeploy models | promote | canary | rollback |
 * undeploy | audit`, driven as a CI job drives them — the built bin/nbdeploy.js in a child
 * process, told where the service is by NBDEPLOY_URL / NBDEPLOY_TOKEN, by flags, or by the
 * state dir — against a real `nbdeploy serve`. Refusals exit 1 with the service's reason.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_METADATA, fixture, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { BIN, type ServiceProcess, cleanup, makeTempDir, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');

let service: ServiceProcess;
/** A notebook that registers and validates versions, as the data scientist did before CI runs. */
let notebook: NotebookClient;
/** An empty folder to run in: no .nbdeploy state dir to find by accident. */
let cwd: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** `nbdeploy ARGS` in a child process with exactly the environment `env` (plus PATH). */
function nbdeploy(args: string[], env: Record<string, string> = { NBDEPLOY_URL: service.url, NBDEPLOY_TOKEN: service.token }): Run {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, json: () => JSON.parse(run.stdout) };
}

beforeAll(async () => {
  service = await startService();
  cwd = makeTempDir();
  notebook = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'dana' } });
  for (const [v, bytes] of [[1, IRIS], [2, variant(IRIS, 'v2')], [3, variant(IRIS, 'v3')]] as const) {
    expect(await notebook.register('churn', bytes, { metadata: IRIS_METADATA })).toMatchObject({ version: v, created: true });
  }
});

afterAll(async () => {
  await notebook?.close();
  await cleanup();
});

describe('nbdeploy models', () => {
  it('should print the models and their versions as a table, and as the service\'s JSON with --json', () => {
    const table = nbdeploy(['models']);
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^MODEL\s+VERSION\s+STAGE\s+TRAFFIC\s+VALIDATION\s+REVIEW\s+CREATED\s+BY$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ['churn', '1', 'none'],
      ['churn', '2', 'none'],
      ['churn', '3', 'none']
    ]);
    const json = nbdeploy(['models', 'churn', '--json']);
    expect(json.status).toBe(0);
    expect(json.json().models.map((m: { name: string }) => m.name)).toEqual(['churn']);
    expect(json.json().models[0].versions).toHaveLength(3);
  });
});

describe('a release, step by step, as a pipeline runs it', () => {
  it('should refuse to promote without a passing validation, with the gate\'s reason, and exit 1', () => {
    const refused = nbdeploy(['promote', 'churn', '1']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('nbdeploy promote: refused: version 1 of "churn" cannot go to production: it has no validation report');
    expect(refused.stderr).toContain('[NBD_ERR_VALIDATION_REQUIRED]');
    expect(refused.stdout).toBe('');
    const json = nbdeploy(['promote', 'churn', '1', '--json']);
    expect(json.status).toBe(1);
    expect(json.json()).toEqual({ error: expect.stringContaining('it has no validation report'), code: 'NBD_ERR_VALIDATION_REQUIRED' });
  });

  it('should promote a validated version, split traffic to a canary, roll back and stop serving', async () => {
    expect((await notebook.validateIris('churn', 1, { gates: { f1: '>= 0.9' } })).validation.passed).toBe(true);
    const promoted = nbdeploy(['promote', 'churn', '1', '--json']);
    expect(promoted.status, promoted.stderr).toBe(0);
    expect(promoted.json().model.deployment).toMatchObject({ serving: true, production: 1 });

    const canary = nbdeploy(['canary', 'churn', '2', '25']);
    expect(canary.status, canary.stderr).toBe(0);
    expect(canary.stdout).toMatch(/churn\s+1\s+production\s+production/);
    expect(canary.stdout).toMatch(/churn\s+2\s+staging\s+canary 25%/);

    // v2 failed its validation: the gate holds, and an override goes through with its reason.
    // (the service computes f1 = 1 on these rows: a gate above 1 cannot pass)
    expect((await notebook.validateIris('churn', 2, { gates: { f1: '> 1' } })).validation.passed).toBe(false);
    const gated = nbdeploy(['promote', 'churn', '2']);
    expect(gated.status).toBe(1);
    expect(gated.stderr).toContain('did not pass its gates');
    const overridden = nbdeploy(['promote', 'churn', '2', '--override', 'hotfix approved by the on-call lead', '--json']);
    expect(overridden.status, overridden.stderr).toBe(0);
    expect(overridden.json().model.deployment.production).toBe(2);

    const rolledBack = nbdeploy(['rollback', 'churn', '--json']);
    expect(rolledBack.status, rolledBack.stderr).toBe(0);
    expect(rolledBack.json().model.deployment.production).toBe(1);

    const archived = nbdeploy(['undeploy', 'churn', '3', '--json']);
    expect(archived.status, archived.stderr).toBe(0);
    expect(archived.json().model.versions[2].stage).toBe('archived');
    const stopped = nbdeploy(['undeploy', 'churn']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/churn\s+1\s+production\s+unloaded/);
  });

  it('should print the audit log, newest first, with the override\'s reason', () => {
    const table = nbdeploy(['audit', 'churn']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^AT\s+WHO\s+ACTION\s+MODEL\s+VERSION\s+NOTEBOOK\s+CELL\s+DETAILS$/);
    const { entries } = nbdeploy(['audit', 'churn', '--json', '--limit', '50']).json();
    const actions = entries.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 8)).toEqual(['serving', 'stage', 'rollback', 'promote', 'validate', 'canary', 'promote', 'validate']);
    expect(entries[3]).toMatchObject({ actor: 'api', version: 2, details: { override: 'hotfix approved by the on-call lead' } });
    expect(entries.at(-1)).toMatchObject({ action: 'register', actor: 'dana' });
    expect(nbdeploy(['audit', '--json', '--limit', '1']).json().entries).toHaveLength(1);
  });
});

describe('finding the service', () => {
  it('should take --url and --token over the environment', () => {
    const run = nbdeploy(['models', '--url', service.url, '--token', service.token], {});
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('churn');
  });

  it('should find the URL and token of the service running on --state-dir', () => {
    const run = nbdeploy(['models', '--state-dir', service.stateDir], {});
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('churn');
  });

  it('should say which token was refused, and when no service answers', () => {
    const wrong = nbdeploy(['models'], { NBDEPLOY_URL: service.url, NBDEPLOY_TOKEN: 'not-the-token-at-all' });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`the service at ${service.url} refused the token from NBDEPLOY_TOKEN`);
    const nobody = nbdeploy(['models', '--json'], { NBDEPLOY_URL: 'http://127.0.0.1:9', NBDEPLOY_TOKEN: service.token });
    expect(nobody.status).toBe(1);
    expect(nobody.json()).toMatchObject({ code: null, error: expect.stringContaining('cannot reach the nbdeploy service at http://127.0.0.1:9') });
    const noToken = nbdeploy(['models'], { NBDEPLOY_URL: service.url });
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toContain(`no token for ${service.url}: give --token or NBDEPLOY_TOKEN`);
  });
});

describe('wrong arguments', () => {
  it.each([
    [['promote', 'churn'], 'missing VERSION'],
    [['promote', 'churn', 'two'], 'VERSION must be a version number (1, 2, …), got "two"'],
    [['promote', 'churn', '1', '--override', ' '], '--override needs a reason'],
    [['canary', 'churn', '2', '150'], 'PERCENT must be a number from 0 to 100, got "150"'],
    [['canary', 'churn', '2', 'ten'], 'PERCENT must be a number from 0 to 100, got "ten"'],
    [['rollback'], 'missing MODEL'],
    [['rollback', 'churn', 'extra'], 'unexpected argument "extra"'],
    [['audit', '--limit', 'many'], '--limit must be an integer, got "many"'],
    [['models', '--colour'], "Unknown option '--colour'"]
  ])('should refuse %j, naming what is wrong, with exit 2', (args, message) => {
    const run = nbdeploy(args);
    expect(run.status, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain(`usage: nbdeploy ${args[0]}`);
  });
});
