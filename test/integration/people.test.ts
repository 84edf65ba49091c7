/**
 * People and roles against real services: the role matrix (every HTTP route and /ws message
 * type × every role, from the permission table and from the router's and the protocol's own
 * lists), `nbdeploy users`, the Jupyter server extension's token route, who is recorded,
 * four eyes, and the audit log's hash chain.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter, type HttpContext } from '../../kernel-service/src/http/routes.js';
import { GRPC_PERMISSIONS, HTTP_PERMISSIONS, WS_PERMISSIONS } from '../../kernel-service/src/people/permissions.js';
import { ROLES, type Role, hasAbility, roleNeeded } from '../../kernel-service/src/people/roles.js';
import { BinaryMessage, TextMessage } from '../../kernel-service/src/protocol/notebook.js';
import { GrpcClient, PROTO_FILE } from '../support/grpc.js';
import { request } from '../support/http.js';
import { IRIS_METADATA, fixture, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type CommandRun, type ServiceProcess, cleanup, makeTempDir, runNbdeploy, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const IRIS_INPUT = { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] };

const nbdeploy = (args: string[]): CommandRun => runNbdeploy(args);

/** `nbdeploy users add` on the service's state dir; the token it printed. */
function addUser(service: ServiceProcess, name: string, role: Role, models?: string[]): string {
  const run = nbdeploy(['users', 'add', name, '--role', role, '--state-dir', service.stateDir, ...(models ? ['--models', models.join(',')] : [])]);
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim();
}

let service: ServiceProcess;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  service = await startService({ args: ['--grpc-port', '0'] });
  for (const role of ROLES) tokens[role] = role === 'admin' ? service.token : addUser(service, `${role}-user`, role);
  const admin = await NotebookClient.connect(service);
  await admin.register('iris', IRIS);
  await admin.close();
});

afterAll(cleanup);

describe('the permission table', () => {
  it("should have an entry for exactly the router's routes", () => {
    const { routes } = createRouter({} as HttpContext);
    const held = [...new Set(routes.map((r) => (r.length > 1 && r.endsWith('/') ? r.slice(0, -1) : r)))].sort();
    expect(held).toEqual(Object.keys(HTTP_PERMISSIONS).sort());
  });

  it('should have an entry for exactly the /ws message types the protocol accepts', () => {
    const types = new Set([...TextMessage.options, ...BinaryMessage.options].map((o) => o.shape.type.value));
    expect(Object.keys(WS_PERMISSIONS).sort()).toEqual([...types].sort());
  });

  it('should have an entry for exactly the gRPC service methods', () => {
    const definition = protoLoader.loadSync(PROTO_FILE, { keepCase: true });
    const methods = Object.keys(definition['inference.GRPCInferenceService'] as object);
    expect(methods.sort()).toEqual(Object.keys(GRPC_PERMISSIONS).sort());
  });
});

describe('the role matrix over HTTP', () => {
  const guarded = Object.entries(HTTP_PERMISSIONS).filter(([, requirement]) => requirement !== null);
  const cases = guarded.flatMap(([route, requirement]) => ROLES.map((role) => [route, role, requirement!] as const));

  it.each(cases)('%s as %s', async (route, role, requirement) => {
    const [method, pattern] = route.split(' ') as ['GET' | 'POST', string];
    const target = pattern.replace(':name', pattern.includes('/users/') ? `matrix-${role}` : 'iris').replace(':version', '1');
    const body = method === 'GET' ? undefined : target.endsWith('/infer') ? IRIS_INPUT : {};
    const res = await request(service.url, target, { method, body, token: tokens[role] });
    if (hasAbility(role, requirement.ability)) {
      expect([401, 403], `${res.status} ${res.text}`).not.toContain(res.status);
    } else {
      expect(res.status, res.text).toBe(403);
      expect(res.json()).toEqual({ code: 'NBD_ERR_FORBIDDEN', error: expect.stringContaining(`needs role ${roleNeeded(requirement.ability)}`) });
    }
  });
});

describe('the role matrix over /ws', () => {
  const clients = {} as Record<Role, NotebookClient>;
  beforeAll(async () => {
    for (const role of ROLES) clients[role] = await NotebookClient.connect(service, { token: tokens[role] });
  });
  afterAll(async () => {
    for (const role of ROLES) await clients[role]?.close();
  });

  const cases = Object.entries(WS_PERMISSIONS).flatMap(([type, requirement]) => ROLES.map((role) => [type, role, requirement] as const));

  it.each(cases)('%s as %s', async (type, role, requirement) => {
    // A model that does not exist: allowed messages fail for other reasons and change nothing.
    const reply = await clients[role].request({ type, model: 'not-registered' });
    if (hasAbility(role, requirement.ability)) {
      expect(reply.code, JSON.stringify(reply)).not.toBe('NBD_ERR_FORBIDDEN');
    } else {
      expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_FORBIDDEN', status: 403 });
      expect(reply.error).toContain(`needs role ${roleNeeded(requirement.ability)}`);
    }
  });

  it("should keep an override to the admin: a deployer's promote with one is refused", async () => {
    const reply = await clients.deployer.request({ type: 'promote', model: 'iris', version: 1, override: 'I say so' });
    expect(reply).toMatchObject({ code: 'NBD_ERR_FORBIDDEN', error: expect.stringContaining('"override" needs role admin') });
  });
});

describe('an inference token limited to some models', () => {
  it('should infer and read metadata of its models only, over HTTP and gRPC', async () => {
    // (the HTTP matrix unloaded it)
    expect((await request(service.url, '/v2/repository/models/iris/load', { method: 'POST', body: {}, token: service.token })).status).toBe(200);
    const app = addUser(service, 'checkout', 'inference', ['iris']);
    const other = addUser(service, 'elsewhere', 'inference', ['fraud']);
    expect((await request(service.url, '/v2/models/iris/infer', { method: 'POST', body: IRIS_INPUT, token: app })).status).toBe(200);
    const refused = await request(service.url, '/v2/models/iris/infer', { method: 'POST', body: IRIS_INPUT, token: other });
    expect(refused.status).toBe(403);
    expect(refused.json().error).toContain('only the models "fraud", not "iris"');
    const rpc = GrpcClient.of(service, other);
    try {
      const failure = await rpc.failure('ModelMetadata', { name: 'iris' });
      expect(failure.code).toBe(grpcStatus.PERMISSION_DENIED);
      expect(failure.nbdCode).toBe('NBD_ERR_FORBIDDEN');
    } finally {
      rpc.close();
    }
    const allowed = GrpcClient.of(service, app);
    try {
      expect((await allowed.call('ModelMetadata', { name: 'iris' })).name).toBe('iris');
    } finally {
      allowed.close();
    }
  });
});

describe('nbdeploy users', () => {
  it('should print only the token on add, list users, and refuse a taken name', () => {
    const dir = makeTempDir();
    const added = nbdeploy(['users', 'add', 'ana', '--role', 'deployer', '--state-dir', dir]);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const again = nbdeploy(['users', 'add', 'ana', '--role', 'viewer', '--state-dir', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('user "ana" already exists (role deployer)');
    const list = nbdeploy(['users', 'list', '--json', '--state-dir', dir]);
    expect(JSON.parse(list.stdout).users.map((u: { name: string; role: string }) => [u.name, u.role])).toEqual([
      ['ana', 'deployer'],
      ['api', 'admin']
    ]);
    const wrong = nbdeploy(['users', 'add', 'bo', '--role', 'boss', '--state-dir', dir]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('--role must be one of inference, viewer, deployer, reviewer, admin, got "boss"');
  });

  it('should make a revoked token stop working at once in a running service, open connections included', async () => {
    const token = addUser(service, 'leaver', 'viewer');
    expect((await request(service.url, '/v2/repository/index', { method: 'POST', body: {}, token })).status).toBe(200);
    const ws = await NotebookClient.connect(service, { token });
    expect((await ws.request({ type: 'list' })).type).toBe('models');
    const revoked = nbdeploy(['users', 'revoke', 'leaver', '--state-dir', service.stateDir]);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect((await request(service.url, '/v2/repository/index', { method: 'POST', body: {}, token })).status).toBe(401);
    expect(await ws.request({ type: 'list' })).toMatchObject({ type: 'error', code: 'NBD_ERR_UNAUTHORIZED' });
    await ws.close();
    const listed = JSON.parse(nbdeploy(['users', 'list', '--json', '--state-dir', service.stateDir]).stdout).users;
    expect(listed.find((u: { name: string }) => u.name === 'leaver').revoked_at).toEqual(expect.any(String));
  });
});

describe('tokens for Jupyter users (the server extension)', () => {
  const tokenRoute = (name: string, body: unknown, token = service.token) =>
    request(service.url, `/v2/nbdeploy/users/${encodeURIComponent(name)}/tokens`, { method: 'POST', body, token });

  it('should create the user as a deployer on first use, and give an existing user another token with their role', async () => {
    const first = await tokenRoute('Ana Silva (ana)', { label: 'jupyter' });
    expect(first.status, first.text).toBe(200);
    expect(first.json()).toEqual({ user: 'Ana Silva (ana)', role: 'deployer', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const second = await tokenRoute('Ana Silva (ana)', { role: 'admin' });
    expect(second.json()).toMatchObject({ user: 'Ana Silva (ana)', role: 'deployer' });
    expect(second.json().token).not.toBe(first.json().token);
    const ws = await NotebookClient.connect(service, { token: second.json().token });
    expect(ws.welcome).toMatchObject({ user: 'Ana Silva (ana)', role: 'deployer' });
    await ws.close();
    expect((await tokenRoute('rui', { role: 'reviewer' })).json()).toMatchObject({ user: 'rui', role: 'reviewer' });
    expect((await tokenRoute('nobody', '')).json()).toMatchObject({ role: 'deployer' });
  });

  it('should refuse a revoked user naming why, and any token but the admin one', async () => {
    await tokenRoute('gone', {});
    expect(nbdeploy(['users', 'revoke', 'gone', '--state-dir', service.stateDir]).status).toBe(0);
    const revoked = await tokenRoute('gone', {});
    expect(revoked.status).toBe(403);
    expect(revoked.json()).toMatchObject({ code: 'NBD_ERR_USER_REVOKED', error: expect.stringContaining('user "gone" was revoked at') });
    const forbidden = await tokenRoute('someone', {}, tokens.deployer);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json().code).toBe('NBD_ERR_FORBIDDEN');
    const bad = await tokenRoute('x', { role: 'boss' });
    expect(bad.status).toBe(400);
  });
});

describe('who is recorded', () => {
  it('should honour X-Nbdeploy-User only with the admin token, and record the notebook and cell', async () => {
    const proxied = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'dana' } });
    const pretender = await NotebookClient.connect(service, { token: tokens.deployer, headers: { 'x-nbdeploy-user': 'dana' } });
    expect(proxied.welcome).toMatchObject({ user: 'dana', role: 'admin' });
    expect(pretender.welcome).toMatchObject({ user: 'deployer-user', role: 'deployer' });
    const context = { notebook: 'work/churn.ipynb', cell: '7f3c1a2e-5b1d-4c59-9d0e-2a1b3c4d5e6f' };
    await pretender.register('who', IRIS, { context, metadata: IRIS_METADATA });
    await proxied.register('who', variant(IRIS, 'v2'), { context: { notebook: 'lab.ipynb' }, metadata: IRIS_METADATA });
    const { entries } = await proxied.call({ type: 'audit', model: 'who' });
    expect(entries.map((e: Record<string, unknown>) => [e.action, e.actor, e.notebook, e.cell])).toEqual([
      ['register', 'dana', 'lab.ipynb', null],
      ['register', 'deployer-user', context.notebook, context.cell]
    ]);
    const long = await pretender.request({ type: 'list', context: { cell: 'c'.repeat(129) } });
    expect(long).toMatchObject({ code: 'NBD_ERR_BAD_FRAME', error: expect.stringContaining('cell') });
    await proxied.close();
    await pretender.close();
  });

  it('should refuse a review by the person who registered the version, without four eyes too', async () => {
    const admin = await NotebookClient.connect(service);
    const own = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'deployer-user' } });
    expect((await admin.validateIris('who', 1)).validation.passed).toBe(true);
    const refused = await own.request({ type: 'review', model: 'who', version: 1, decision: 'approve' });
    expect(refused).toMatchObject({ code: 'NBD_ERR_OWN_WORK', status: 403, error: expect.stringContaining('deployer-user registered version 1 of "who" and cannot review it') });
    expect(await own.request({ type: 'review', model: 'who', version: 1, decision: 'request_changes' })).toMatchObject({ code: 'NBD_ERR_OWN_WORK' });
    const model = (await admin.call({ type: 'get_model', model: 'who' })).model;
    expect(model.versions[0].production_gate).toEqual({ open: true, reason: null });
    expect(model.versions[1].production_gate).toEqual({ open: false, reason: 'it has no validation report' });
    await admin.close();
    await own.close();
  });
});

describe('four eyes and the audit chain', () => {
  let strict: ServiceProcess;
  beforeAll(async () => {
    strict = await startService({ args: ['--four-eyes'] });
  });

  it('should refuse the author, take another reviewer\'s approval, then let the deployer promote', async () => {
    const ana = await NotebookClient.connect(strict, { token: addUser(strict, 'ana', 'deployer') });
    const lead = await NotebookClient.connect(strict, { token: addUser(strict, 'lead', 'admin') });
    const rui = await NotebookClient.connect(strict, { token: addUser(strict, 'rui', 'reviewer') });
    await ana.register('churn', IRIS, { context: { notebook: 'churn.ipynb', cell: 'cell-1' }, metadata: IRIS_METADATA });
    expect((await lead.validateIris('churn', 1)).validation.passed).toBe(true);
    const gate = (await ana.call({ type: 'get_model', model: 'churn' })).model.versions[0].production_gate;
    expect(gate).toEqual({ open: false, reason: 'four eyes: validation report #1 needs an approving review by someone other than ana and lead' });
    expect(await ana.request({ type: 'promote', model: 'churn', version: 1 })).toMatchObject({ code: 'NBD_ERR_VALIDATION_REQUIRED', error: expect.stringContaining('four eyes') });
    expect(await ana.request({ type: 'review', model: 'churn', version: 1, decision: 'approve' })).toMatchObject({ code: 'NBD_ERR_FORBIDDEN' });
    expect(await lead.request({ type: 'review', model: 'churn', version: 1, decision: 'approve' })).toMatchObject({
      code: 'NBD_ERR_OWN_WORK',
      error: expect.stringContaining('lead validated version 1 of "churn"')
    });
    await rui.call({ type: 'review', model: 'churn', version: 1, decision: 'approve', comment: 'read the slices' });
    expect((await ana.call({ type: 'get_model', model: 'churn' })).model.versions[0].production_gate).toEqual({ open: true, reason: null });
    expect((await ana.call({ type: 'promote', model: 'churn', version: 1 })).model.deployment.production).toBe(1);
    const actions = (await rui.call({ type: 'audit', model: 'churn' })).entries.map((e: Record<string, unknown>) => [e.action, e.actor]).reverse();
    expect(actions).toEqual([
      ['register', 'ana'],
      ['validate', 'lead'],
      ['review', 'rui'],
      ['promote', 'ana']
    ]);
    for (const c of [ana, lead, rui]) await c.close();
  });

  it('should let audit verify find an edited entry and a removed one', async () => {
    await strict.stop();
    const file = path.join(strict.stateDir, 'registry.sqlite');
    const verify = (dir: string) => nbdeploy(['audit', 'verify', '--state-dir', dir, '--json']);
    const intact = verify(strict.stateDir);
    expect(intact.status, intact.stderr).toBe(0);
    const entries = JSON.parse(intact.stdout).entries as number;
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, head: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const tampered = (change: string): CommandRun => {
      const dir = makeTempDir();
      copyFileSync(file, path.join(dir, 'registry.sqlite'));
      const db = new Database(path.join(dir, 'registry.sqlite'));
      db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; ${change}`);
      db.close();
      return verify(dir);
    };
    const promote = new Database(file, { readonly: true }).prepare<[], { id: number }>("SELECT id FROM audit_log WHERE action = 'promote'").get()!.id;
    const edited = tampered(`UPDATE audit_log SET actor = 'mallory' WHERE id = ${promote}`);
    expect(edited.status).toBe(1);
    expect(JSON.parse(edited.stdout)).toMatchObject({ ok: false, problem: 'changed', entry: promote });
    const removed = tampered(`DELETE FROM audit_log WHERE id = ${promote - 1}`);
    expect(removed.status).toBe(1);
    expect(JSON.parse(removed.stdout)).toMatchObject({ ok: false, problem: 'missing', entry: promote - 1 });
    const truncated = tampered(`DELETE FROM audit_log WHERE id = ${entries}`);
    expect(JSON.parse(truncated.stdout)).toMatchObject({ ok: false, problem: 'missing', entry: entries });
    const text = nbdeploy(['audit', 'verify', '--state-dir', strict.stateDir]);
    expect(text.stdout).toBe(`audit log intact: ${entries} entries, last hash ${JSON.parse(intact.stdout).head}\n`);
  });
});
