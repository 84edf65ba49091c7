import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RestClient, metricValue } from '../support/http.js';
import { IRIS_METADATA, fixture, fp32, variant } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];
const CONTEXT = { notebook: 'x.ipynb', cell: 'cell-7', kernel: 'kernel-1' };

let service: ServiceProcess;
let rest: RestClient;
let agent: Agent;
/** Alice's notebook: every change in these tests comes from her. */
let alice: NotebookClient;

beforeAll(async () => {
  service = await startService();
  agent = new Agent({ keepAlive: true, maxSockets: 8 });
  rest = new RestClient(service, agent);
  alice = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'alice' } });
});

afterAll(async () => {
  await alice?.close();
  agent?.destroy();
  await cleanup();
});

/** Registers `count` versions of the iris classifier (distinct bytes) under `model`. */
async function registerVersions(model: string, count: number): Promise<void> {
  for (let v = 1; v <= count; v++) {
    const reply = await alice.register(model, v === 1 ? IRIS : variant(IRIS, `v${v}`), { context: CONTEXT, metadata: IRIS_METADATA });
    expect(reply).toMatchObject({ type: 'registered', model, version: v, created: true });
  }
}

/** The version that answered each of `count` requests on the unversioned route. */
async function servedVersions(model: string, count: number): Promise<string[]> {
  const responses = await Promise.all(Array.from({ length: count }, () => rest.infer(model, [fp32('input', [ROW])])));
  return responses.map((res) => {
    expect(res.status, res.text).toBe(200);
    return res.json().model_version as string;
  });
}

describe('register over /ws', () => {
  it('should register ONNX bytes sent in a binary frame', async () => {
    const reply = await alice.register('registered', IRIS, { metadata: { owner: 'team-a' } });
    expect(reply).toMatchObject({ type: 'registered', model: 'registered', version: 1, created: true });
    expect(reply.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(reply.signature.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);

    const again = await alice.register('registered', IRIS);
    expect(again).toMatchObject({ version: 1, created: false, sha256: reply.sha256 });

    const { model } = await alice.call({ type: 'get_model', model: 'registered' });
    expect(model.versions).toHaveLength(1);
    expect(model.versions[0]).toMatchObject({ version: 1, stage: 'none', created_by: 'alice', metadata: { owner: 'team-a' } });
    expect(model.deployment).toMatchObject({ serving: true, production: null, canary: null, shadows: [] });
  });
});

describe('deploy over /ws', () => {
  it('should refuse production without a passing validation report, unless overridden', async () => {
    await registerVersions('gated', 1);
    const refused = await alice.request({ type: 'deploy', model: 'gated', version: 1 });
    expect(refused).toMatchObject({ type: 'error', code: 'NBD_ERR_VALIDATION_REQUIRED', status: 409 });
    expect((await alice.validateIris('gated', 1, { gates: { f1: '> 1' } })).validation.passed).toBe(false);
    expect(await alice.request({ type: 'deploy', model: 'gated', version: 1 })).toMatchObject({ code: 'NBD_ERR_VALIDATION_REQUIRED' });

    const overridden = await alice.call({ type: 'deploy', model: 'gated', version: 1, override: 'hotfix approved by the on-call lead' });
    expect(overridden.model.deployment.production).toBe(1);
    const { entries } = await alice.call({ type: 'audit', model: 'gated' });
    expect(entries[0]).toMatchObject({ action: 'promote', version: 1, details: { override: 'hotfix approved by the on-call lead' } });
  });

  it('should deploy a version to production and move the traffic to it', async () => {
    await registerVersions('prod', 2);
    // Before any production version, the newest version answers.
    expect(new Set(await servedVersions('prod', 5))).toEqual(new Set(['2']));

    const first = await alice.promote('prod', 1);
    expect(first.type).toBe('deployment');
    expect(first.model.deployment).toMatchObject({ serving: true, production: 1 });
    expect(first.model.versions.map((v: { stage: string }) => v.stage)).toEqual(['production', 'none']);
    expect(new Set(await servedVersions('prod', 10))).toEqual(new Set(['1']));

    const second = await alice.promote('prod', 2);
    expect(second.model.deployment.production).toBe(2);
    expect(second.model.versions.map((v: { stage: string }) => v.stage)).toEqual(['archived', 'production']);
    expect(new Set(await servedVersions('prod', 10))).toEqual(new Set(['2']));
    const archived = await rest.infer('prod', [fp32('input', [ROW])], 1);
    expect(archived.status).toBe(409);
    expect(archived.json().code).toBe('NBD_ERR_VERSION_ARCHIVED');
  });

  it('should split traffic to a canary by its percentage', async () => {
    await registerVersions('canary', 2);
    await alice.promote('canary', 1);
    const split = await alice.call({ type: 'deploy', model: 'canary', version: 2, canary_percent: 30 });
    expect(split.model.deployment).toMatchObject({ production: 1, canary: { version: 2, percent: 30 } });
    expect(split.model.versions[1].stage).toBe('staging');

    const n = 400;
    const served = await servedVersions('canary', n);
    const toCanary = served.filter((v) => v === '2').length;
    expect(served.filter((v) => v !== '1' && v !== '2')).toEqual([]);
    // Binomial(400, 0.3): mean 120, standard deviation 9.2; ±5.4 sd fails about once in 10^7 runs.
    expect(toCanary).toBeGreaterThanOrEqual(70);
    expect(toCanary).toBeLessThanOrEqual(170);

    const removed = await alice.call({ type: 'set_canary', model: 'canary', version: 2, percent: 0 });
    expect(removed.model.deployment.canary).toBeNull();
    expect(new Set(await servedVersions('canary', 40))).toEqual(new Set(['1']));
  });

  it('should mirror traffic to a shadow version that answers nobody', async () => {
    await registerVersions('shadow', 2);
    await alice.promote('shadow', 1);
    const mirrored = await alice.call({ type: 'deploy', model: 'shadow', version: 2, shadow: true });
    expect(mirrored.model.deployment).toMatchObject({ production: 1, shadows: [2] });

    const n = 40;
    const ok = (metrics: string, version: string): number =>
      metricValue(metrics, 'nbdeploy_inference_requests_total', { model: 'shadow', version, outcome: 'ok' });
    // (version 1's validation ran through it: evaluation traffic is counted in metrics too)
    const validated = ok(await rest.metrics(), '1');
    expect(new Set(await servedVersions('shadow', n))).toEqual(new Set(['1']));
    // Shadow runs finish after the answer: wait until all of them are counted.
    await vi.waitFor(async () => expect(ok(await rest.metrics(), '2')).toBe(n), { timeout: 10_000, interval: 50 });
    const metrics = await rest.metrics();
    expect(ok(metrics, '1')).toBe(validated + n);
    expect(metricValue(metrics, 'nbdeploy_inference_rows_total', { model: 'shadow', version: '2' })).toBe(n);

    const off = await alice.call({ type: 'set_shadow', model: 'shadow', version: 2, enabled: false });
    expect(off.model.deployment.shadows).toEqual([]);
    await servedVersions('shadow', 10);
    expect(ok(await rest.metrics(), '2')).toBe(n);
  });

  it('should roll back production twice, v3 → v2 → v1, then refuse', async () => {
    await registerVersions('rollback', 3);
    for (const v of [1, 2, 3]) await alice.promote('rollback', v);
    expect(new Set(await servedVersions('rollback', 5))).toEqual(new Set(['3']));

    const toTwo = await alice.call({ type: 'rollback', model: 'rollback', context: CONTEXT });
    expect(toTwo.model.deployment.production).toBe(2);
    expect(toTwo.model.versions.map((v: { stage: string }) => v.stage)).toEqual(['archived', 'production', 'archived']);
    expect(new Set(await servedVersions('rollback', 5))).toEqual(new Set(['2']));

    const toOne = await alice.call({ type: 'rollback', model: 'rollback' });
    expect(toOne.model.deployment.production).toBe(1);
    expect(new Set(await servedVersions('rollback', 5))).toEqual(new Set(['1']));

    const refused = await alice.request({ type: 'rollback', model: 'rollback' });
    expect(refused).toMatchObject({ type: 'error', code: 'NBD_ERR_DEPLOY_CONFLICT', status: 409 });
    expect(refused.error).toMatch(/no earlier production version/);
    expect(new Set(await servedVersions('rollback', 5))).toEqual(new Set(['1']));

    const { entries } = await alice.call({ type: 'audit', model: 'rollback', limit: 2 });
    expect(entries.map((e: { action: string; details: unknown }) => [e.action, e.details])).toEqual([
      ['rollback', { from: 2, to: 1 }],
      ['rollback', { from: 3, to: 2 }]
    ]);
  });

  it('should undeploy a version (archive it) and refuse to undeploy production', async () => {
    await registerVersions('undeploy', 2);
    await alice.promote('undeploy', 1);
    const staged = await alice.call({ type: 'deploy', model: 'undeploy', version: 2, stage: 'staging' });
    expect(staged.model.versions[1].stage).toBe('staging');
    expect((await rest.infer('undeploy', [fp32('input', [ROW])], 2)).status).toBe(200);

    const archived = await alice.call({ type: 'undeploy', model: 'undeploy', version: 2 });
    expect(archived.model.versions[1].stage).toBe('archived');
    const res = await rest.infer('undeploy', [fp32('input', [ROW])], 2);
    expect(res.status).toBe(409);
    expect(res.json().code).toBe('NBD_ERR_VERSION_ARCHIVED');
    // Evaluation requests (a validation run again, kept out of monitoring) still reach it,
    // loading it on demand, over WebSocket and REST; monitored traffic keeps being refused.
    const evaluated = await alice.call({ type: 'infer', model: 'undeploy', version: 2, inputs: [fp32('input', [ROW])], monitor: false });
    expect(evaluated).toMatchObject({ type: 'infer_result', model_version: 2 });
    expect((await rest.infer('undeploy', [fp32('input', [ROW])], 2, { parameters: { monitor: false } })).status).toBe(200);
    expect((await rest.infer('undeploy', [fp32('input', [ROW])], 2)).json().code).toBe('NBD_ERR_VERSION_ARCHIVED');
    expect(await alice.request({ type: 'infer', model: 'undeploy', version: 2, inputs: [fp32('input', [ROW])] })).toMatchObject({ code: 'NBD_ERR_VERSION_ARCHIVED' });
    // ... and it can be deployed again
    const restaged = await alice.call({ type: 'deploy', model: 'undeploy', version: 2, stage: 'staging' });
    expect(restaged.model.versions[1].stage).toBe('staging');
    expect((await rest.infer('undeploy', [fp32('input', [ROW])], 2)).status).toBe(200);
    await alice.call({ type: 'undeploy', model: 'undeploy', version: 2 });

    const refused = await alice.request({ type: 'undeploy', model: 'undeploy', version: 1 });
    expect(refused).toMatchObject({ type: 'error', code: 'NBD_ERR_DEPLOY_CONFLICT' });
    expect(new Set(await servedVersions('undeploy', 5))).toEqual(new Set(['1']));

    const stopped = await alice.call({ type: 'undeploy', model: 'undeploy' });
    expect(stopped.model.deployment.serving).toBe(false);
    expect((await rest.infer('undeploy', [fp32('input', [ROW])])).status).toBe(503);
    const again = await alice.promote('undeploy', 1);
    expect(again.model.deployment.serving).toBe(true);
    expect(new Set(await servedVersions('undeploy', 5))).toEqual(new Set(['1']));
  });

  it('should answer changes to unknown models and versions with errors', async () => {
    expect(await alice.request({ type: 'deploy', model: 'nobody', version: 1 })).toMatchObject({ code: 'NBD_ERR_MODEL_NOT_FOUND', status: 404 });
    await registerVersions('lonely', 1);
    expect(await alice.request({ type: 'promote', model: 'lonely', version: 9, override: 'x' })).toMatchObject({ code: 'NBD_ERR_VERSION_NOT_FOUND' });
    expect(await alice.request({ type: 'set_canary', model: 'lonely', version: 1, percent: 10 })).toMatchObject({ code: 'NBD_ERR_DEPLOY_CONFLICT' });
  });
});

describe('audit log', () => {
  it('should record who changed what, from which notebook', async () => {
    await registerVersions('audited', 2);
    await alice.promote('audited', 1, { context: CONTEXT });
    await alice.call({ type: 'deploy', model: 'audited', version: 2, canary_percent: 10, context: CONTEXT });
    // A change through HTTP, named by the proxy's user header (percent-encoded beyond ASCII), and one without it.
    const viaProxy = await rest.post('/v2/repository/models/audited/unload', undefined, { headers: { 'x-nbdeploy-user': 'Bob Jos%C3%A9 (bob)' } });
    expect(viaProxy.status).toBe(200);
    await rest.load('audited');

    const { entries } = await alice.call({ type: 'audit', model: 'audited', limit: 50 });
    const rows = entries.map((e: Reply) => ({ actor: e.actor, notebook: e.notebook, action: e.action, version: e.version }));
    expect(rows.reverse()).toEqual([
      { actor: 'alice', notebook: 'x.ipynb', action: 'register', version: 1 },
      { actor: 'alice', notebook: 'x.ipynb', action: 'register', version: 2 },
      { actor: 'alice', notebook: 'x.ipynb', action: 'validate', version: 1 },
      { actor: 'alice', notebook: 'x.ipynb', action: 'promote', version: 1 },
      { actor: 'alice', notebook: 'x.ipynb', action: 'canary', version: 2 },
      { actor: 'Bob José (bob)', notebook: null, action: 'serving', version: null },
      { actor: 'api', notebook: null, action: 'serving', version: null }
    ]);
    for (const e of entries) expect(Date.parse(e.at)).not.toBeNaN();
    // Entries of other models are not mixed in; without a model, all models are listed.
    expect(entries.every((e: Reply) => e.model === 'audited')).toBe(true);
    const all = await alice.call({ type: 'audit', limit: 10_000 });
    expect(new Set(all.entries.map((e: Reply) => e.model))).toContain('rollback');
  });
});

describe('live subscriptions', () => {
  it('should send deployment events on changes and stats events while traffic flows', async () => {
    await registerVersions('live', 2);
    await alice.promote('live', 1);
    const watcher = await NotebookClient.connect(service);
    try {
      const subscribed = await watcher.call({ type: 'subscribe', model: 'live' });
      expect(subscribed).toMatchObject({ type: 'subscribed', model: { name: 'live', deployment: { production: 1 } } });

      await alice.promote('live', 2);
      const event = await watcher.nextUnsolicited((m) => m.type === 'event' && m.kind === 'deployment' && m.data.action === 'promote');
      expect(event).toMatchObject({ model: 'live', data: { model: { name: 'live', deployment: { production: 2 } } } });

      const n = 30;
      expect(new Set(await servedVersions('live', n))).toEqual(new Set(['2']));
      // Stats come once a second per model; add them up until every request is counted.
      let counted = 0;
      while (counted < n) {
        const stats = await watcher.nextUnsolicited((m) => m.type === 'event' && m.kind === 'stats');
        expect(stats.model).toBe('live');
        expect(stats.data.window_seconds).toBeGreaterThan(0);
        for (const v of stats.data.versions) {
          expect(v.version).toBe(2);
          expect(v.errors).toBe(0);
          counted += v.requests;
        }
      }
      expect(counted).toBe(n);

      const unsubscribed = await watcher.call({ type: 'unsubscribe', model: 'live' });
      expect(unsubscribed).toMatchObject({ type: 'unsubscribed', model: 'live' });
    } finally {
      await watcher.close();
    }
  });

  it('should refuse to subscribe to an unknown model', async () => {
    expect(await alice.request({ type: 'subscribe', model: 'nobody' })).toMatchObject({ type: 'error', code: 'NBD_ERR_MODEL_NOT_FOUND' });
  });
});
