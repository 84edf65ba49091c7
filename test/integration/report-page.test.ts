/**
 * A validation report as a file (`nd.saveHtml`, the `validation_page` request): the TypeScript
 * notebook API validates a model against a real service, writes the report's page, and
 * headless Chromium opens it with the network off.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nd from '../../kernel-service/src/notebook/index.js';
import { NotebookClient } from '../support/notebook-client.js';
// plain JavaScript, shared with the Python tests
import { readReportPage } from '../support/report-page-browser.js';
import { ROOT, type ServiceProcess, cleanup, makeTempDir, startService } from '../support/service.js';

interface Split {
  rows: number[][];
  labels: number[];
}
const CANCER = readFileSync(path.join(ROOT, 'examples', 'cancer.onnx'));
const DATA = JSON.parse(readFileSync(path.join(ROOT, 'examples', 'cancer-data.json'), 'utf8')) as { train: Split; holdout: Split };
const OUTPUT = path.join(ROOT, 'test', 'output');
/** A name that would run as markup if any text reached the page unescaped. */
const HOSTILE = '<script>document.title="pwned"</script>';

let service: ServiceProcess;
let ws: NotebookClient;
let dir: string;

beforeAll(async () => {
  service = await startService();
  await nd.connect({ url: service.url, token: service.token });
  nd.setDisplay(() => undefined);
  ws = await NotebookClient.connect(service);
  dir = makeTempDir('nbdeploy-page-');
});

afterAll(async () => {
  ws?.socket.close();
  nd.disconnect();
  nd.setDisplay(null);
  await cleanup();
});

describe('saveHtml', () => {
  it('should write a page that shows the report, its charts and reviews offline, with user text as text', async () => {
    const art = await nd.register(CANCER, {
      name: 'page',
      sample: DATA.train.rows,
      labels: DATA.train.labels,
      card: { owner: HOSTILE, intended_use: 'second reader for biopsy triage', personal_data: [] }
    });
    const half = DATA.holdout.rows.map((_, i) => i % 2 === 0);
    const report = await nd.validate(art, DATA.holdout.rows, DATA.holdout.labels, {
      gates: { f1: '>= 0.8', accuracy: '>= 0.99' },
      slices: { [HOSTILE]: half }
    });
    expect(report.passed).toBe(false);
    // Another person reviews (nobody reviews their own version): the Jupyter user the server extension names.
    const reviewer = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'rui' } });
    await reviewer.call({ type: 'review', model: 'page', version: art.version, decision: 'request_changes', comment: `${HOSTILE} & <b>accuracy</b>` });
    await reviewer.close();

    const file = await nd.saveHtml(report, path.join(dir, 'report.html'));
    expect(file).toBe(path.join(dir, 'report.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).not.toContain('<script');
    const size = statSync(file).size;
    expect(size).toBeLessThan(200_000);

    mkdirSync(OUTPUT, { recursive: true });
    const page = await readReportPage(file, path.join(OUTPUT, 'report-page-typescript'));
    expect(page.requests).toEqual([]);
    expect(page.errors).toEqual([]);
    expect(page.scripts).toBe(0);
    expect(page.references).toEqual([]);
    expect(page.title).toBe(`Validation of page version ${art.version} — failed`);
    expect(page.verdict).toMatch(/failed/i);
    const f1 = report.metrics.f1!.toFixed(4);
    expect(page.metrics.some((row: string) => row.startsWith(`f1 | ${f1} | `))).toBe(true);
    expect(page.gates).toContain(`accuracy >= 0.99 | ${report.metrics.accuracy!.toFixed(4)} | 0.9900 | ✗ fail | accuracy = ${report.metrics.accuracy!.toFixed(4)} misses >= 0.99`);
    expect(page.svgs).toBe(1);
    // The hostile strings are shown as they were written, and ran nowhere.
    expect(page.text).toContain(HOSTILE);
    expect(page.reviews).toEqual([expect.stringContaining(`${HOSTILE} & <b>accuracy</b>`)]);
    expect(page.text).toContain('Governance checklist');
    expect(page.text).toContain('Slices');
    expect(page.darkBackground).not.toBe(page.background);
    for (const shot of page.screenshots) expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.log(`report page: ${size} bytes; screenshots ${page.screenshots.join(', ')}`);
  });

  it('should refuse a report that is not stored, a folder that does not exist, and a report the service does not have', async () => {
    const art = await nd.register(CANCER, { name: 'page-refusals', sample: DATA.train.rows, labels: DATA.train.labels });
    const report = await nd.validate(art, DATA.holdout.rows, DATA.holdout.labels, { resamples: 0 });
    const missing = path.join(dir, 'no-such-folder', 'report.html');
    await expect(nd.saveHtml(report, missing)).rejects.toThrow(`cannot write ${missing}: the folder ${path.dirname(missing)} does not exist`);
    expect(existsSync(path.dirname(missing))).toBe(false);

    await expect(nd.saveHtml({ ...report, id: null }, path.join(dir, 'x.html'))).rejects.toThrow(/is not stored in the service \(it has no id\)/);
    await expect(nd.saveHtml({ ...report, id: report.id! + 1000 }, path.join(dir, 'x.html'))).rejects.toMatchObject({
      code: 'NBD_ERR_VALIDATION_NOT_FOUND'
    });
    // A version with no report at all: the latest is asked for.
    const other = await nd.register(CANCER, { name: 'page-unvalidated', sample: DATA.train.rows, labels: DATA.train.labels });
    const reply = await ws.request({ type: 'validation_page', model: 'page-unvalidated', version: other.version });
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_VALIDATION_NOT_FOUND' });
    expect(existsSync(path.join(dir, 'x.html'))).toBe(false);
  });
});
