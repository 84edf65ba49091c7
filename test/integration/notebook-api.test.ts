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
  service = await startService();
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
