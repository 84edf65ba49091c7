/**
 * Capture from the TypeScript notebook API against a real service: `capture` keeps the
 * requests `predict` sends, `captured` reads them back row by row, lined up with the
 * request ids and answers `predict` returned; `inspect` finds the feature shifted in a window
 * of them, with the KS statistic of those rows against the profile's sample.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nd from '../../kernel-service/src/notebook/index.js';
import { ksStatistic } from '../support/ks.js';
import { variant } from '../support/models.js';
import { ROOT, type ServiceProcess, cleanup, startService } from '../support/service.js';

interface Split {
  rows: number[][];
  labels: number[];
}
const CANCER = readFileSync(path.join(ROOT, 'examples', 'cancer.onnx'));
const DATA = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'cancer-data.json'), 'utf8')) as { train: Split; live: Split };

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

describe('capture', () => {
  it('should keep what predict sent and answered, and read it back as rows', async () => {
    const art = await nd.register(CANCER, { name: 'cancer-capture', sample: DATA.train.rows, labels: DATA.train.labels });
    await nd.deploy(art, { override: 'no validation in this test', display: false });
    const deployment = await nd.capture('cancer-capture', { rate: 1, retentionDays: 1 });
    expect(deployment.capture).toEqual({ rate: 1, retention_days: 1 });
    expect(shown.at(-1)).toHaveProperty(['application/vnd.nbdeploy.deployment+json']);

    const rows = DATA.live.rows.slice(0, 12);
    const out = await nd.predict('cancer-capture', rows);
    const kept = await nd.captured('cancer-capture', { last: '10m' });
    expect(kept.rows.map((r) => r.request_id)).toEqual(out.request_ids);
    expect(kept.truncated).toBe(false);
    expect(kept.columns.slice(0, 3)).toEqual(['at', 'request_id', 'version']);
    const labelColumn = kept.columns.find((c) => c.startsWith('label'))!;
    expect(kept.rows.map((r) => r[labelColumn])).toEqual(out.labels);

    await expect(nd.capture('cancer-capture', { rate: 2 })).rejects.toThrow('between 0 and 1');
    const limited = await nd.captured('cancer-capture', { limit: 5 });
    expect(limited.rows.length).toBe(5);
    expect(limited.truncated).toBe(true);

    // The same model as a candidate answers every captured row alike.
    const same = await nd.register(variant(CANCER, 'candidate'), { name: 'cancer-capture', sample: DATA.train.rows, labels: DATA.train.labels });
    const replayed = await nd.replay('cancer-capture', same.version, { last: '10m' });
    expect(replayed).toMatchObject({ version: same.version, source: 'captured', rows: 12, agreement: 1, changed: 0 });
    expect(replayed.table.rows.map((r) => r[1])).toEqual(out.request_ids);
  });

  it('should inspect a window whose first feature was shifted, and show the panel', async () => {
    const art = await nd.register(CANCER, { name: 'cancer-inspect', sample: DATA.train.rows, labels: DATA.train.labels });
    await nd.deploy(art, { override: 'no validation in this test', display: false });
    await nd.capture('cancer-inspect', { rate: 1, display: false });
    const start = Date.now() - 1000;
    const shifted = DATA.live.rows.slice(0, 60).map((row) => [row[0]! + 10, ...row.slice(1)]);
    await nd.predict('cancer-inspect', shifted);
    const found = await nd.inspect('cancer-inspect', { start, end: new Date(Date.now() + 1000) });
    const first = found.rows.columns[3]!;
    expect(found.report.feature.name).toBe(first);
    expect(found.report.picked).toBe(true);
    const reference = (art.profile!.features[first] as { sample: number[] }).sample;
    expect(found.report.feature.test!.statistic).toBe(ksStatistic(reference, found.rows.rows.map((r) => r[first] as number)));
    expect(found.report.feature.test!.drifted).toBe(true);
    expect(found.rows.rows.length).toBe(60);
    const bundle = shown.at(-1)!;
    expect(Object.keys(bundle).sort()).toEqual(['application/vnd.nbdeploy.inspect+json', 'text/html', 'text/plain']);
    expect(bundle['text/html']).toContain('<svg');
    await expect(nd.inspect('cancer-inspect', { feature: 'nope', display: false })).rejects.toThrow('its features:');
  });
});
