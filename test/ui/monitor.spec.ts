/**
 * The monitor chart in a real JupyterLab: `nd.monitor` drawn by the extension (not the SVG
 * fallback), live while a cell sends traffic — the chart changes and the snapshot written
 * back into the output grows — in the light and dark themes, with no console errors.
 */
import path from 'node:path';

import { expect, test } from '@jupyterlab/galata';

import { waitForAllCells, waitForKernel, watchConsole } from './notebook-helpers.js';

const NOTEBOOK = 'monitor-live.ipynb';
const MONITOR_MIME = 'application/vnd.nbdeploy.monitor+json';
const MONITOR = '.jp-nbdeploy-Monitor';
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'output');

const CELLS = [
  `import time
import nbdeploy as nd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
art = nd.export(model, X, name="monitored", y=y)
nd.deploy(art, override="UI test of the monitor chart")
out = nd.predict("monitored", X.sample(40, random_state=0))`,
  `nd.monitor("monitored", last="5m")`,
  `for i in range(24):
    batch = X.sample(20, random_state=i)
    if i >= 8:
        batch = batch.assign(**{c: batch[c] * 1.8 for c in X.columns[:6]})
    out = nd.predict("monitored", batch)
    nd.feedback("monitored", out.request_ids, y.loc[batch.index].to_numpy())
    time.sleep(1)`
];

test.use({ autoGoto: false, viewport: { width: 1280, height: 1600 } });

test('the monitor chart renders, and changes as traffic flows', async ({ page, request }) => {
  const notebook = {
    cells: CELLS.map((source, i) => ({ cell_type: 'code', id: `cell-${i}`, source, metadata: {}, outputs: [], execution_count: null })),
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  };
  expect((await request.put(`/api/contents/${NOTEBOOK}`, { data: { type: 'notebook', format: 'json', content: notebook } })).ok()).toBe(true);

  const problems = watchConsole(page);
  await page.goto();
  expect(await page.notebook.openByPath(NOTEBOOK)).toBe(true);
  await page.notebook.activate(NOTEBOOK);
  await waitForKernel(page);
  await page.menu.clickMenuItem('Run>Run All Cells');

  // Drawn by the extension (vega in the page), not the image fallback, and live.
  const chart = page.locator(MONITOR);
  await expect(chart.locator('.jp-nbdeploy-monitorChart svg')).toBeVisible({ timeout: 120_000 });
  await expect(page.locator('.jp-OutputArea-output img')).toHaveCount(0);
  await expect(chart.locator('.jp-nbdeploy-monitorStatus')).toHaveText(/^Live · updated/, { timeout: 30_000 });
  await expect(chart.locator('.jp-nbdeploy-title')).toHaveText('Monitoring monitored v1');
  await expect(chart.locator('.jp-nbdeploy-range[aria-pressed="true"]')).toHaveText('5m');

  // As the traffic cell runs: the throughput drawn changes, and the output's snapshot grows.
  const throughput = () => chart.locator('.mark-area path').first().getAttribute('d');
  const written = () =>
    page.evaluate(mime => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const outputs: any[] = panel.context.model.toJSON().cells.flatMap((cell: any) => cell.outputs ?? []);
      const ops: Array<{ requests: number }> = outputs.find(output => output.data?.[mime])?.data[mime].series.ops ?? [];
      return ops.reduce((sum, o) => sum + o.requests, 0);
    }, MONITOR_MIME);
  const firstPath = await throughput();
  const firstRequests = await written();
  expect(firstRequests).toBe(1);
  await expect.poll(throughput, { timeout: 60_000 }).not.toBe(firstPath);
  await expect.poll(written, { timeout: 60_000, intervals: [1000] }).toBeGreaterThan(firstRequests);
  // Drift shows up once the scaled batches arrive.
  await expect(chart.locator('svg')).toContainText('drifted');

  for (const theme of ['light', 'dark'] as const) {
    await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', String(theme === 'light'));
    await page.waitForTimeout(1500); // the chart re-draws with the theme's colours
    await chart.scrollIntoViewIfNeeded();
    await chart.screenshot({ path: path.join(SCREENSHOTS, `ui-monitor-${theme}.png`) });
  }
  await page.theme.setLightTheme();
  await waitForAllCells(page);
  expect(problems).toEqual([]);
});

