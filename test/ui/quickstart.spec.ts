/**
 * The quickstart in a real JupyterLab: every cell run from the Run menu, nbdeploy's
 * validation and deployment panels drawn by the extension's renderers (not the static
 * HTML fallback), no errors in the browser console, in the light and dark themes; one click
 * on a drifted cell of the monitor chart's heat map inserts and runs `nd.inspect(...)` below
 * the chart and its panel renders. Then the
 * saved notebook, opened as a colleague would open a shared copy: the panels come from the
 * saved outputs alone, with the nbdeploy service out of reach.
 */
import path from 'node:path';

import { expect, test } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { waitForAllCells, waitForKernel, watchConsole } from './notebook-helpers.js';

const NOTEBOOK = 'quickstart.ipynb';
const SHARED = 'shared-quickstart.ipynb';
const VALIDATION_MIME = 'application/vnd.nbdeploy.validation+json';
const DEPLOYMENT_MIME = 'application/vnd.nbdeploy.deployment+json';
const VALIDATION = '.jp-nbdeploy-Validation';
const DEPLOYMENT = '.jp-nbdeploy-Deployment';
const MONITOR = '.jp-nbdeploy-Monitor';
const MONITOR_MIME = 'application/vnd.nbdeploy.monitor+json';
const INSPECT = '.jp-nbdeploy-Inspect';
const REPLAY = '.jp-nbdeploy-Replay';
/** The drift heat map's colour of a drifted cell (kernel-service/src/monitoring/monitor-chart.ts). */
const DRIFTED_FILL = '#e4572e';
/** Screenshots for people to look at (git-ignored); Playwright's own output dir is emptied on every run. */
const SCREENSHOTS = path.resolve(import.meta.dirname, '..', 'output');

// Pages are opened by the tests, after they start listening to the console.
test.use({ autoGoto: false, viewport: { width: 1280, height: 2000 } });
test.describe.configure({ mode: 'serial' });

test.describe('quickstart', () => {
  test('runs, shows the validation, deployment and monitor panels, and notifies the alert', async ({ page }) => {
    // Training, live traffic, an alert to wait for: longer than the default.
    test.setTimeout(300_000);
    const problems = watchConsole(page);
    await page.goto();
    expect(await page.notebook.openByPath(NOTEBOOK)).toBe(true);
    await page.notebook.activate(NOTEBOOK);
    await waitForKernel(page);
    // The quickstart drifts its inputs on purpose: the service's alert reaches the user as a
    // JupyterLab notification while the cells run (a warning closes itself after a while).
    const alertNotified = page.getByText(/nbdeploy alert on cancer/).first().waitFor({ state: 'attached', timeout: 240_000 });
    await page.menu.clickMenuItem('Run>Run All Cells');
    await waitForAllCells(page, { timeoutMs: 240_000 });
    await alertNotified;
    // ... and as a count on the Models sidebar's tab until the panel is opened.
    const modelsTab = page.locator('.lm-TabBar-tab[data-nbdeploy-alerts]');
    await expect(modelsTab).toHaveCount(1);
    expect(Number(await modelsTab.getAttribute('data-nbdeploy-alerts'))).toBeGreaterThanOrEqual(1);

    const outputs = await countOutputs(page);
    expect(outputs.validation).toBeGreaterThanOrEqual(1);
    expect(outputs.deployment).toBeGreaterThanOrEqual(1);
    await expectPanels(page, outputs);
    // The live monitor chart, drawn by the extension, with the drift the notebook caused.
    const monitor = page.locator(MONITOR).first();
    await expect(monitor.locator('svg').first()).toBeVisible();
    await expect(monitor.locator('svg').first()).toContainText('Drift per feature');

    // One click from a drifted cell to the cause: a red cell of the heat map (vega names the
    // layer's marks `drift_cells_marks`) inserts `nd.inspect(...)` below the chart's cell and runs it.
    // (Counted in the model: Galata's getCellCount scrolls the notebook through.)
    const cellCount = () => page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.content.model.cells.length as number);
    const cellsBefore = await cellCount();
    const driftedCell = monitor.locator(`.drift_cells_marks path[fill="${DRIFTED_FILL}"]`).first(); // the earliest: well inside the plot
    await driftedCell.scrollIntoViewIfNeeded();
    await driftedCell.click();
    await expect.poll(cellCount, { timeout: 10_000 }).toBe(cellsBefore + 1);
    const below = await cellBelowChart(page);
    expect(below.source).toMatch(/^nd\.inspect\("cancer", feature="[^"]+", start="\d{4}-\d\d-\d\dT[\d:.]+Z", end="\d{4}-\d\d-\d\dT[\d:.]+Z"\)$/);
    // The cell right below the chart's (the quickstart's own nd.inspect cell, further down, shows one too).
    const chartCell = page.locator('.jp-Notebook .jp-Cell').filter({ has: page.locator(MONITOR) }).first();
    const inspectCell = chartCell.locator('xpath=following-sibling::*[contains(concat(" ", normalize-space(@class), " "), " jp-Cell ")][1]');
    await expect(inspectCell.locator(INSPECT)).toBeVisible({ timeout: 60_000 });
    expect((await cellBelowChart(page)).errors).toEqual([]);

    // The first report passed its gates; the first deployment went to production.
    const report = page.locator(VALIDATION).first();
    await expect(report.locator('.jp-nbdeploy-verdict')).toHaveText('✓ Passed');
    await expect(report.locator('.jp-nbdeploy-title')).toHaveText('Validation of cancer version 1');
    await expect(report.locator('.jp-nbdeploy-metrics tbody tr').first()).toBeVisible();
    await expect(report.locator('.jp-nbdeploy-gate.jp-mod-pass')).toHaveCount(2);
    const deployment = page.locator(DEPLOYMENT).first();
    await expect(deployment.locator('.jp-nbdeploy-stage')).toHaveText('production');
    await expect(deployment.locator('.jp-nbdeploy-endpoint')).toContainText('/v2/models/cancer/infer');
    // Version 2 went out as a 20% canary beside version 1.
    await expect(canary(page).locator('.jp-nbdeploy-share.jp-mod-canary')).toContainText('20%');

    await screenshots(page, 'quickstart', ['light', 'dark']);
    // Saved with its outputs, for the next test.
    expect(await page.notebook.save()).toBe(true);
    expect(problems).toEqual([]);
  });

  test('shared with its outputs, shows the panels without running or reaching the service', async ({ page, request }) => {
    // A colleague's copy: other bytes than the notebook this server signed, written without
    // the cells' trust marks, so JupyterLab opens it untrusted, as it would a download.
    const response = await request.get(`/api/contents/${NOTEBOOK}?content=1`);
    expect(response.ok()).toBe(true);
    const notebook = (await response.json()).content;
    for (const cell of notebook.cells) delete cell.metadata.trusted;
    notebook.metadata.shared_by = 'a colleague';
    expect(notebook.cells.some((cell: any) => cell.outputs?.length), 'the first test saves the run notebook').toBe(true);
    expect((await request.put(`/api/contents/${SHARED}`, { data: { type: 'notebook', format: 'json', content: notebook } })).ok()).toBe(true);

    const problems = watchConsole(page);
    const serviceCalls: string[] = [];
    // The server extension's proxy to the service (not the labextension's files, under /lab/extensions/nbdeploy/).
    await page.route(url => url.pathname.startsWith('/nbdeploy/'), route => {
      serviceCalls.push(route.request().url());
      return route.abort('connectionrefused');
    });
    // ... and its WebSocket: the colleague's JupyterLab has no nbdeploy service to reach.
    await page.routeWebSocket(/\/nbdeploy\/ws/, socket => socket.close({ code: 1011, reason: 'no nbdeploy service here' }));
    await page.goto();
    expect(await page.notebook.openByPath(SHARED)).toBe(true);
    await page.notebook.activate(SHARED);

    const outputs = await countOutputs(page);
    expect(outputs.validation).toBeGreaterThanOrEqual(1);
    expect(await trustOfPanelCells(page), 'the cells with nbdeploy outputs are untrusted').not.toContain(true);
    await expectPanels(page, outputs);
    await expect(page.locator(VALIDATION).first().locator('.jp-nbdeploy-verdict')).toHaveText('✓ Passed');
    // The monitor chart's last snapshot, saved with the notebook, drawn without the service.
    const monitor = page.locator(MONITOR).first();
    await expect(monitor.locator('svg').first()).toBeVisible();
    await expect(monitor.locator('.jp-nbdeploy-monitorStatus')).toContainText('Snapshot');
    // The inspection (its chart drawn from the saved payload) and the replay, without the service too.
    await expect(page.locator(INSPECT).first().locator('svg, canvas').first()).toBeVisible();
    await expect(page.locator(REPLAY).first().locator('.jp-nbdeploy-title')).toContainText('Replay of');
    await expect(page.locator(`${INSPECT} .jp-nbdeploy-error, ${REPLAY} .jp-nbdeploy-error`)).toHaveCount(0);
    await screenshots(page, 'shared', ['light']);
    expect(serviceCalls).toEqual([]);
    expect(problems).toEqual([]);
  });
});




/** The cell below the (first) monitor chart's cell: its source and error outputs. */
async function cellBelowChart(page: IJupyterLabPageFixture): Promise<{ source: string; errors: string[] }> {
  return page.evaluate(mime => {
    const cells: any[] = (window as any).jupyterapp.shell.currentWidget.context.model.toJSON().cells;
    const chart = cells.findIndex(cell => cell.outputs?.some((output: any) => output.data?.[mime]));
    const below = cells[chart + 1];
    const source = Array.isArray(below.source) ? below.source.join('') : below.source;
    const errors = (below.outputs ?? []).filter((o: any) => o.output_type === 'error').map((o: any) => `${o.ename}: ${o.evalue}`);
    return { source, errors };
  }, MONITOR_MIME);
}

/** How many outputs of the current notebook carry each nbdeploy MIME type. */
async function countOutputs(page: IJupyterLabPageFixture): Promise<{ validation: number; deployment: number }> {
  return page.evaluate(
    ([validation, deployment]) => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const outputs: any[] = panel.context.model.toJSON().cells.flatMap((cell: any) => cell.outputs ?? []);
      return {
        validation: outputs.filter(output => output.data?.[validation]).length,
        deployment: outputs.filter(output => output.data?.[deployment]).length
      };
    },
    [VALIDATION_MIME, DEPLOYMENT_MIME]
  );
}

/** Whether JupyterLab trusts each cell that has a validation output. */
async function trustOfPanelCells(page: IJupyterLabPageFixture): Promise<boolean[]> {
  return page.evaluate(mime => {
    const cells = (window as any).jupyterapp.shell.currentWidget.content.model.cells;
    const trust: boolean[] = [];
    for (let i = 0; i < cells.length; i++) {
      const cell = cells.get(i);
      if (cell.type === 'code' && cell.toJSON().outputs.some((output: any) => output.data?.[mime])) trust.push(cell.trusted);
    }
    return trust;
  }, VALIDATION_MIME);
}

/**
 * Every nbdeploy output is drawn by nbdeploy's renderers, readable, and none by the static
 * HTML that viewers without the extension get.
 */
async function expectPanels(page: IJupyterLabPageFixture, counts: { validation: number; deployment: number }): Promise<void> {
  await expect(page.locator(VALIDATION)).toHaveCount(counts.validation);
  await expect(page.locator(DEPLOYMENT)).toHaveCount(counts.deployment);
  await expect(page.locator(`${VALIDATION} .jp-nbdeploy-error, ${DEPLOYMENT} .jp-nbdeploy-error`)).toHaveCount(0);
  const fallbacks = page.locator('.jp-OutputArea-output.jp-RenderedHTMLCommon').filter({ hasText: /Validation of|Deployed/ });
  await expect(fallbacks).toHaveCount(0);
}

/** The window and each first panel, in each theme (the last one stays). */
async function screenshots(page: IJupyterLabPageFixture, name: string, themes: ('light' | 'dark')[]): Promise<void> {
  for (const theme of themes) {
    await (theme === 'light' ? page.theme.setLightTheme() : page.theme.setDarkTheme());
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', theme === 'light' ? 'true' : 'false');
    // JupyterLab redraws its shell a frame after a theme change (its fix for a Chrome
    // rendering bug); before that a screenshot can show the old theme's panels.
    await expect(page.locator('#jupyterlab-splash')).toHaveCount(0);
    await page.evaluate(() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    await page.waitForTimeout(300);
    const report = page.locator(VALIDATION).first();
    await report.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-${theme}.png`) });
    await report.screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-validation-${theme}.png`) });
    await page.locator(DEPLOYMENT).first().screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-deployment-${theme}.png`) });
    await canary(page).screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-canary-${theme}.png`) });
    await page.locator(INSPECT).first().screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-inspect-${theme}.png`) });
    await page.locator(REPLAY).first().screenshot({ path: path.join(SCREENSHOTS, `ui-${name}-replay-${theme}.png`) });
  }
}

/** The deployment panel of the canary release. */
function canary(page: IJupyterLabPageFixture) {
  return page.locator(DEPLOYMENT).filter({ has: page.locator('.jp-nbdeploy-share.jp-mod-canary') }).first();
}
