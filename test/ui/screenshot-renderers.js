// Screenshots of nbdeploy's renderers in a running JupyterLab, in the light and dark themes.
//
//   node test/ui/screenshot-renderers.js <lab url> <token> <notebook path> [output dir]
//
// The notebook needs saved outputs carrying the nbdeploy MIME types (nothing is run). The
// browser is Debian's Chromium (`make chromium`), driven by playwright-core. JupyterLab's
// theme is set through its settings API, so start it with its own
// `--LabApp.user_settings_dir` to keep your own settings as they are.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { THEMES, launchChromium, setSetting as setLabSetting, setTheme as setLabTheme } from './lab-browser.js';

const [base, token, notebook, outDir = 'test/output'] = process.argv.slice(2);
if (!base || !token || !notebook) {
  console.error('usage: node test/ui/screenshot-renderers.js <lab url> <token> <notebook path> [output dir]');
  process.exit(2);
}
const RENDERERS = ['.jp-nbdeploy-Validation', '.jp-nbdeploy-Deployment'];
const setSetting = (plugin, values) => setLabSetting(base, token, plugin, values);
const setTheme = name => setLabTheme(base, token, name);

mkdirSync(outDir, { recursive: true });
const browser = await launchChromium();
const problems = [];
try {
  // no "get notified about Jupyter news?" toast over the outputs
  await setSetting('@jupyterlab/apputils-extension:notification', { fetchNews: 'false' });
  for (const [theme, name] of Object.entries(THEMES)) {
    await setTheme(name);
    const page = await browser.newPage({ viewport: { width: 1280, height: 3400 } });
    page.on('pageerror', error => problems.push(`${theme}: page error: ${error.message}`));
    page.on('console', message => {
      if (message.type() === 'error' || /nbdeploy/i.test(message.text())) {
        problems.push(`${theme}: console ${message.type()}: ${message.text()}`);
      }
    });
    // `/doc` opens the notebook alone (JupyterLab's single-document mode), `reset` ignores saved layouts.
    await page.goto(`${base}/doc/tree/${notebook}?token=${token}&reset`);
    for (const selector of RENDERERS) {
      await page.locator(selector).first().waitFor({ timeout: 60_000 });
    }
    await page.waitForFunction(expected => document.body.dataset.jpThemeName === expected, name, { timeout: 30_000 });
    await page.waitForTimeout(500); // fonts and layout settle
    await page.screenshot({ path: join(outDir, `renderers-${theme}.png`), fullPage: true });
    for (const selector of RENDERERS) {
      const file = join(outDir, `${selector.slice('.jp-nbdeploy-'.length).toLowerCase()}-${theme}.png`);
      await page.locator(selector).first().screenshot({ path: file });
    }
    const fallbacks = await page.locator('.jp-OutputArea-output.jp-RenderedHTMLCommon').count();
    console.log(`${theme}: rendered ${await page.locator(RENDERERS[0]).count()} validation and ${await page.locator(RENDERERS[1]).count()} deployment outputs; ${fallbacks} HTML fallbacks shown`);
    await page.close();
  }
} finally {
  await browser.close();
  await setTheme(THEMES.light).catch(() => undefined);
}
if (problems.length) {
  console.log(problems.join('\n'));
}
