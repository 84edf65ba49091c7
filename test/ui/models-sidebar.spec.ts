/**
 * The Models sidebar and the reviewer's bar in a real JupyterLab: a model set up through
 * the Jupyter proxy's WebSocket (as another notebook would), rolled back from the sidebar
 * after a confirmation; its capture set from a form, a bad share refused with the reason,
 * and turned off; a validation report approved from its output, recorded as the
 * Jupyter user; no console errors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { expect, test } from '@jupyterlab/galata';
import WebSocket from 'ws';

import { binaryFrame } from '../support/notebook-client.js';
import { IRIS_METADATA, fixture, fp32, irisValidationRows, variant } from '../support/models.js';
import { watchConsole } from './notebook-helpers.js';

const MODEL = 'sidebar-iris';
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'output');
const PASSED_REPORT = path.resolve(import.meta.dirname, '..', '..', 'extension', 'test', 'fixtures', 'validation-passed.json');

test.use({ autoGoto: false });
test.describe.configure({ mode: 'serial' });

/** A notebook-protocol client through the Jupyter server's proxy, as the extension connects. */
class ProxyClient {
  private constructor(private readonly _socket: WebSocket) {
    _socket.on('message', data => {
      const message = JSON.parse(String(data));
      const pending = this._pending.get(message.id);
      if (!pending) return;
      this._pending.delete(message.id);
      if (message.type === 'error') pending.reject(new Error(`${message.code}: ${message.error}`));
      else pending.resolve(message);
    });
  }

  static connect(): Promise<ProxyClient> {
    const url = `ws://127.0.0.1:${process.env.NBDEPLOY_UI_PORT}/nbdeploy/ws`;
    const socket = new WebSocket(url, { headers: { Authorization: `token ${process.env.NBDEPLOY_UI_TOKEN}` } });
    return new Promise((resolve, reject) => {
      socket.once('message', () => resolve(new ProxyClient(socket)));
      socket.once('error', reject);
    });
  }

  call(message: Record<string, unknown>, payload?: Uint8Array): Promise<any> {
    const id = ++this._id;
    const reply = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject }));
    this._socket.send(payload ? binaryFrame({ ...message, id }, [payload]) : JSON.stringify({ ...message, id }));
    return reply;
  }

  close(): void {
    this._socket.close();
  }

  private _id = 0;
  private readonly _pending = new Map<number, { resolve: (m: unknown) => void; reject: (e: Error) => void }>();
}


test.describe('Models sidebar', () => {
  test.beforeAll(async () => {
    // v1 then v2 in production: a rollback goes back to v1.
    const client = await ProxyClient.connect();
    const iris = fixture('iris_classifier.onnx');
    for (const [version, bytes] of [[1, variant(iris, 'sidebar v1')], [2, variant(iris, 'sidebar v2')]] as const) {
      await client.call({ type: 'register', model: MODEL, metadata: IRIS_METADATA }, bytes);
      const { rows, labels } = irisValidationRows();
      await client.call({ type: 'validate', model: MODEL, version, inputs: [fp32('input', rows)], labels });
      await client.call({ type: 'deploy', model: MODEL, version });
    }
    client.close();
  });

  test('roll back from the sidebar', async ({ page }) => {
    const problems = watchConsole(page);
    await page.goto();
    await page.sidebar.openTab('nbdeploy-models' as never);
    const panel = page.locator('#nbdeploy-models');
    await expect(panel.locator('.jp-nbdeploy-connectionText')).toContainText('Connected as');
    const model = panel.locator(`[data-model="${MODEL}"]`);
    await expect(model.locator('[data-version="2"]')).toHaveAttribute('data-stage', 'production');
    await expect(model.locator('[data-version="2"] .jp-nbdeploy-trafficShare')).toHaveText('production 100%');
    for (const theme of ['light', 'dark'] as const) {
      await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
      await panel.screenshot({ path: path.join(SCREENSHOTS, `ui-models-sidebar-${theme}.png`) });
    }
    await page.theme.setLightTheme();

    await model.locator('[data-action="rollback"]').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText(`Roll back ${MODEL}?`);
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await expect(model.locator('[data-version="1"]')).toHaveAttribute('data-stage', 'production');
    await expect(model.locator('[data-version="2"]')).not.toHaveAttribute('data-stage', 'production');
    expect(problems).toEqual([]);
  });

  test('set capture from the sidebar, and turn it off', async ({ page }) => {
    const problems = watchConsole(page);
    await page.goto();
    await page.sidebar.openTab('nbdeploy-models' as never);
    const model = page.locator(`#nbdeploy-models [data-model="${MODEL}"]`);
    const capture = model.locator('[data-action="set-capture"]');
    await expect(capture).toHaveAttribute('title', /^Captures nothing/);
    const dialog = page.locator('.jp-Dialog');
    const form = async (fields: { percent?: string; days?: string; enabled?: boolean }): Promise<void> => {
      await capture.click();
      await expect(dialog).toContainText(`Capture for ${MODEL}`);
      if (fields.enabled !== undefined) await dialog.locator('input[name="enabled"]').setChecked(fields.enabled);
      if (fields.percent !== undefined) await dialog.locator('input[name="percent"]').fill(fields.percent);
      if (fields.days !== undefined) await dialog.locator('input[name="days"]').fill(fields.days);
      await dialog.getByRole('button', { name: 'Set capture' }).click();
    };
    await form({ percent: '150' });
    await expect(dialog).toContainText('The share of requests kept must be a number more than 0 and at most 100 (%), not "150".');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await form({ percent: '25', days: '3' });
    await expect(model.locator('.jp-nbdeploy-facts')).toContainText('capture 25%');
    await expect(capture).toHaveAttribute('title', /^Captures: keeps 25% of requests for 3 days/);
    await form({ enabled: false });
    await expect(capture).toHaveAttribute('title', /^Captures nothing/);
    await expect(model.locator('.jp-nbdeploy-facts')).not.toContainText('capture');
    expect(problems).toEqual([]);
  });

  test('approve a validation', async ({ page }) => {
    const problems = watchConsole(page);
    await page.goto();
    const report = { ...JSON.parse(readFileSync(PASSED_REPORT, 'utf8')), model: MODEL, version: 1, reviews: [] };
    expect(await page.contents.uploadContent(JSON.stringify(report), 'text', 'sidebar-report.json')).toBe(true);
    expect(await page.notebook.createNew('review.ipynb', { kernel: 'python3' })).toBeTruthy();
    // The report displayed as nd.validate displays it (run in this session, so trusted).
    await page.notebook.setCell(
      0,
      'code',
      "import json; from IPython.display import display; display({'application/vnd.nbdeploy.validation+json': json.load(open('sidebar-report.json')), 'text/plain': 'report'}, raw=True)"
    );
    await page.notebook.runCell(0);
    const bar = page.locator('.jp-nbdeploy-Validation .jp-nbdeploy-reviewBar');
    await expect(bar).toBeVisible();
    await bar.locator('textarea').fill('holds on the holdout');
    await bar.getByRole('button', { name: '✓ Approve' }).click();
    await expect(bar.locator('.jp-nbdeploy-review[data-decision="approve"]')).toContainText(/✓ Approved by Anonymous \S+ · \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await expect(bar.locator('.jp-nbdeploy-review')).toContainText('holds on the holdout');
    await bar.screenshot({ path: path.join(SCREENSHOTS, 'ui-review-light.png') });
    // The sidebar shows the review on the version.
    await page.sidebar.openTab('nbdeploy-models' as never);
    await expect(page.locator(`#nbdeploy-models [data-model="${MODEL}"] [data-version="1"] [data-review]`)).toHaveAttribute('data-review', 'approve');
    expect(problems).toEqual([]);
  });

  test('run validation cells, and hold back Deploy while one fails', async ({ page }) => {
    const problems = watchConsole(page);
    const cell = (source: string, tags: string[]) => ({ cell_type: 'code', source, metadata: { tags }, outputs: [], execution_count: null });
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
      cells: [cell('x = 1', ['nbdeploy-validation']), cell('never = 1 / 0', []), cell('assert x == 2, "x should be 2"', ['nbdeploy-validation'])]
    };
    expect(await page.contents.uploadContent(JSON.stringify(notebook), 'text', 'checks.ipynb')).toBe(true);
    await page.goto();
    expect(await page.notebook.openByPath('checks.ipynb')).toBe(true);
    await page.notebook.activate('checks.ipynb');
    await expect(page.locator('#jp-main-statusbar')).toContainText('Idle', { timeout: 60_000 });
    await page.sidebar.openTab('nbdeploy-models' as never);
    const section = page.locator('#nbdeploy-models .jp-nbdeploy-notebookSection');
    await expect(section).toContainText('Notebook: checks.ipynb');
    await section.locator('[data-action="run-validation"]').click();
    await expect(section.locator('[data-run="fail"]')).toContainText('cell 3: AssertionError: x should be 2');
    await expect(section.locator('[data-action="deploy"]')).toBeDisabled();
    await expect(section.locator('[data-blocked="deploy"]')).toContainText('Deploy is held back');
    // the untagged cell did not run
    expect(await page.notebook.getCellTextOutput(1)).toBeNull();
    // fixed: the run passes and Deploy is back
    await page.notebook.setCell(2, 'code', 'assert x == 1');
    await section.locator('[data-action="run-validation"]').click();
    await expect(section.locator('[data-run="pass"]')).toContainText('2 validation cells run');
    await expect(section.locator('[data-action="deploy"]')).toBeEnabled();
    for (const theme of ['light', 'dark'] as const) {
      await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
      await page.locator('#nbdeploy-models').screenshot({ path: path.join(SCREENSHOTS, `ui-validation-cells-${theme}.png`) });
    }
    await page.theme.setLightTheme();
    expect(problems).toEqual([]);
  });
});
