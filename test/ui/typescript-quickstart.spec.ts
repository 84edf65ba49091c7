/**
 * The TypeScript quickstart in a real JupyterLab: its cells run in the tslab kernel from
 * the Run menu, and nbdeploy's validation and deployment outputs are drawn by the
 * extension's renderers exactly as for Python; the monitor output is there too.
 */
import path from 'node:path';

import { expect, test } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';

import { waitForAllCells, watchConsole } from './notebook-helpers.js';

const NOTEBOOK = 'typescript-quickstart.ipynb';
const VALIDATION = '.jp-nbdeploy-Validation';
const DEPLOYMENT = '.jp-nbdeploy-Deployment';
const MIMES = {
  validation: 'application/vnd.nbdeploy.validation+json',
  deployment: 'application/vnd.nbdeploy.deployment+json',
  monitor: 'application/vnd.nbdeploy.monitor+json'
};
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'output');

test.use({ autoGoto: false, viewport: { width: 1280, height: 2000 } });

test('the TypeScript quickstart runs in tslab and shows the nbdeploy panels', async ({ page }) => {
  // JupyterLab 4.6's notebook debugger handler calls displayModules() after every execution
  // (executionDone), which throws this when no debugger session exists — as with a kernel
  // without debugger support, such as tslab. Not nbdeploy's; anything else counts.
  const problems = watchConsole(page, error => error.message === 'No active debugger session' && /displayModules/.test(error.stack ?? ''));
  await page.goto();
  expect(await page.notebook.openByPath(NOTEBOOK)).toBe(true);
  await page.notebook.activate(NOTEBOOK);
  await expect(page.locator('#jp-main-statusbar')).toContainText('TypeScript', { timeout: 60_000 });
  await expect(page.locator('#jp-main-statusbar')).toContainText('Idle', { timeout: 60_000 });
  await page.menu.clickMenuItem('Run>Run All Cells');
  await waitForAllCells(page, { stderrFails: true });

  const outputs = await outputsByMime(page);
  expect(outputs).toEqual({ validation: 1, deployment: 1, monitor: 1 });
  await expect(page.locator(VALIDATION)).toHaveCount(1);
  await expect(page.locator(DEPLOYMENT)).toHaveCount(1);
  await expect(page.locator(`${VALIDATION} .jp-nbdeploy-error, ${DEPLOYMENT} .jp-nbdeploy-error`)).toHaveCount(0);
  const report = page.locator(VALIDATION);
  await expect(report.locator('.jp-nbdeploy-verdict')).toHaveText('✓ Passed');
  await expect(report.locator('.jp-nbdeploy-title')).toHaveText('Validation of cancer-ts version 1');
  await expect(report.locator('.jp-nbdeploy-gate.jp-mod-pass')).toHaveCount(2);
  await expect(page.locator(DEPLOYMENT).locator('.jp-nbdeploy-stage')).toHaveText('production');
  await expect(page.locator(DEPLOYMENT).locator('.jp-nbdeploy-endpoint')).toContainText('/v2/models/cancer-ts/infer');
  // No static fallback stands in for a panel the extension renders.
  await expect(page.locator('.jp-OutputArea-output.jp-RenderedHTMLCommon').filter({ hasText: /Validation of|Deployed/ })).toHaveCount(0);
  // The monitor chart, drawn by its renderer (not the SVG fallback).
  await expect(page.locator('.jp-nbdeploy-Monitor svg').first()).toBeVisible();

  await report.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'ui-typescript-quickstart.png') });
  expect(problems).toEqual([]);
});


/** How many outputs of the current notebook carry each nbdeploy MIME type. */
async function outputsByMime(page: IJupyterLabPageFixture): Promise<Record<keyof typeof MIMES, number>> {
  return page.evaluate(mimes => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    const outputs: any[] = panel.context.model.toJSON().cells.flatMap((cell: any) => cell.outputs ?? []);
    return Object.fromEntries(Object.entries(mimes).map(([k, mime]) => [k, outputs.filter(o => o.data?.[mime]).length])) as any;
  }, MIMES);
}
