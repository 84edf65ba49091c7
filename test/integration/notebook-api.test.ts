/**
 * The TypeScript notebook API (`nbdeploy/notebook`, kernel-service/src/notebook) against a
 * real service, outside tslab (outputs go to a recorder through `setDisplay`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nd from '../../kernel-service/src/notebook/index.js';
import { request } from '../support/http.js';
import { variant } from '../support/models.js';
import { ROOT, type ServiceProcess, cleanup, startService } from '../support/service.js';

interface Split {
  rows: number[][];
  labels: number[];
}
const CANCER = readFileSync(path.join(ROOT, 'examples', 'cancer.onnx'));
const DATA = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'cancer-data.json'), 'utf8')) as { train: Split; holdout: Split; live: Split };

let service: ServiceProcess;
const shown: nd.MimeBundle[] = [];

beforeAll(async () => {
  // One-second monitoring windows, so that an alert rule fires within the test.
  service = await startService({ args: ['--monitor-window-seconds', '1'] });
  await nd.connect({ url: service.url, token: service.token });
  nd.setDisplay((bundle) => shown.push(bundle));
});

afterAll(async () => {
  nd.disconnect();
  nd.setDisplay(null);
  await cleanup();
});

describe('deploy', () => {
  it('should give a staged version the versioned endpoint, whose snippets reach that version', async () => {
    const first = await nd.register(CANCER, { name: 'staged', sample: DATA.train.rows, labels: DATA.train.labels });
    const production = await nd.deploy(first, { override: 'no validation in this test' });
    expect(production.endpoint).toBe(`${service.url}/v2/models/staged/infer`);

    const second = await nd.register(variant(CANCER, 'v2'), { name: 'staged', sample: DATA.train.rows, labels: DATA.train.labels });
    const staged = await nd.deploy(second, { stage: 'staging' });
    expect(staged.stage).toBe('staging');
    expect(staged.endpoint).toBe(`${service.url}/v2/models/staged/versions/${second.version}/infer`);
    for (const snippet of Object.values(staged.snippets)) expect(snippet).toContain(staged.endpoint);
    // What an integrator copies from the curl snippet reaches the staged version.
    const body = /-d '(.*)'/.exec(staged.snippets.curl!)![1]!;
    const res = await request(service.url, new URL(staged.endpoint).pathname, { token: service.token, body });
    expect(res.status, res.text).toBe(200);
    expect(res.json().model_version).toBe(String(second.version));

    const canary = await nd.deploy(second, { canary: 10 });
    expect(canary.endpoint).toBe(`${service.url}/v2/models/staged/infer`);
  });
});

describe('monitoring verbs (Python\'s alerts, alert_rules, integrity_policy, drift_method)', () => {
  let art: nd.ModelArtifact;
  beforeAll(async () => {
    art = await nd.register(CANCER, { name: 'watched', sample: DATA.train.rows, labels: DATA.train.labels });
    await nd.deploy(art, { override: 'no validation in this test' });
  });

  it('should read and change the integrity policy, kinds left out keeping theirs', async () => {
    const before = await nd.integrityPolicy('watched');
    expect(before.out_of_range).toBe('serve');
    const after = await nd.integrityPolicy('watched', { out_of_range: 'refuse' });
    expect(after).toEqual({ ...before, out_of_range: 'refuse' });
    expect(await nd.integrityPolicy('watched')).toEqual(after);
    const far = DATA.live.rows[0]!.map((v) => v * 1000);
    await expect(nd.predict('watched', [far])).rejects.toMatchObject({ code: 'NBD_ERR_INTEGRITY_REFUSED' });
    await nd.integrityPolicy('watched', { out_of_range: 'serve' });
    await expect(nd.integrityPolicy('watched', { null_spike: 'refuse' })).rejects.toThrow(/null_spike .* can only be "serve"/);
  });

  it('should read, set and reset alert rules and webhooks, and list the alerts they fire', async () => {
    const defaults = await nd.alertRules('watched');
    expect(defaults).toMatchObject({ model: 'watched', custom: false, webhooks: [] });
    expect(defaults.rules.map((r) => r.name)).toEqual(['drift', 'accuracy', 'error_rate', 'latency_p99', 'integrity']);
    const rule = { name: 'any-traffic', metric: 'error_rate' as const, condition: '>=' as const, threshold: 0, window_seconds: 2, min_count: 1, cooldown_seconds: 1 };
    const own = await nd.alertRules('watched', { rules: [rule], webhooks: ['https://hooks.example.com/services/x'] });
    expect(own).toMatchObject({ custom: true, webhooks: ['https://hooks.example.com/services/x'], rules: [{ name: 'any-traffic', severity: 'warning' }] });
    await expect(nd.alertRules('watched', { rules: [{ ...rule, threshold: 'validated - 0.1' }] })).rejects.toMatchObject({ code: 'NBD_ERR_BAD_REQUEST' });

    // error_rate >= 0 over any traffic: fires once the engine sees a window with requests.
    let firing: nd.Alert[] = [];
    while (firing.length === 0) {
      await nd.predict('watched', DATA.live.rows.slice(0, 5));
      firing = await nd.alerts('watched', { state: 'firing' });
    }
    expect(firing[0]).toMatchObject({ model: 'watched', rule: 'any-traffic', state: 'firing', metric: 'error_rate' });
    expect(await nd.alerts('watched', { last: '1h' })).toEqual(expect.arrayContaining([expect.objectContaining({ id: firing[0]!.id })]));
    expect(await nd.alerts('staged')).toEqual([]);
    await expect(nd.alerts('watched', { last: 'soon' })).rejects.toThrow(/a span is like "15m"/);

    const reset = await nd.alertRules('watched', { rules: null, webhooks: [] });
    expect(reset).toMatchObject({ custom: false, webhooks: [] });
  });

  it('should test drift with the method and thresholds asked for', async () => {
    await nd.predict('watched', DATA.live.rows);
    const byDefault = await nd.status('watched', { last: '1h' });
    const psi = await nd.status('watched', { last: '1h', driftMethod: 'psi', driftThresholds: { psi: 0.01 } });
    const features = Object.keys(psi.drift);
    expect(features.length).toBeGreaterThan(0);
    for (const feature of features) {
      expect(psi.drift[feature]).toMatchObject({ method: 'psi', threshold: 0.01 });
    }
    expect(Object.values(byDefault.drift).some((d) => d.method !== 'psi')).toBe(true);
    await expect(nd.status('watched', { driftMethod: 'median' as nd.DriftMethod })).rejects.toThrow(/drift_method/);
  });
});

describe('audit (Python\'s nd.audit)', () => {
  it('should show who changed what from which notebook as a table, and return the rows', async () => {
    process.env.NBDEPLOY_NOTEBOOK = 'work/churn-ts.ipynb';
    let art: nd.ModelArtifact;
    try {
      art = await nd.register(variant(CANCER, 'audited'), { name: 'audited-ts', sample: DATA.train.rows, labels: DATA.train.labels });
      await nd.deploy(art, { override: 'first release, checked by hand', display: false });
      await nd.integrityPolicy('audited-ts', { out_of_range: 'refuse' });
    } finally {
      delete process.env.NBDEPLOY_NOTEBOOK;
    }
    const before = shown.length;
    const rows = await nd.audit('audited-ts');
    const user = (await nd.connect({ url: service.url, token: service.token })).user;
    // newest first; each change made here, as this user, from this notebook (no cell outside a kernel)
    expect(rows.map((r) => r.action)).toEqual(['integrity_policy', 'promote', 'register']);
    for (const row of rows) expect(row).toMatchObject({ user, model: 'audited-ts', notebook: 'work/churn-ts.ipynb', cell: null });
    expect(rows[1]).toMatchObject({ version: art!.version });
    expect(JSON.stringify(rows[1]!.details)).toContain('first release, checked by hand');
    const bundle = shown[before]!;
    const text = String(bundle['text/plain']);
    expect(text.split('\n')[0]).toBe('Audit log of audited-ts');
    expect(text.split('\n')[1]!.split(/\s+/)).toEqual(['time', 'user', 'action', 'model', 'version', 'notebook', 'cell', 'details']);
    expect(String(bundle['text/html'])).toContain('<table');
    expect(String(bundle['text/html'])).toContain('work/churn-ts.ipynb');

    expect(await nd.audit(undefined, { limit: 1, display: false })).toHaveLength(1);
    expect(await nd.audit('no-such-model', { display: false })).toEqual([]);
    await expect(nd.audit('audited-ts', { limit: 0 })).rejects.toThrow(/limit must be a whole number from 1 to 10000, got 0/);
  });
});
