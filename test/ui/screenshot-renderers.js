// Screenshots of nbdeploy's renderers in a running JupyterLab, in the light and dark themes.
//
//   node test/ui/screenshot-renderers.js <lab url> <token> <notebook path> [output dir]
//
// The notebook needs saved outputs carrying the nbdeploy MIME types (nothing is run). The
// browser is Debian's Chromium (`make chromium`), driven by playwright-core. JupyterLab's
// theme is set through its settings API, so start it with its own
// `--LabApp.user_settings_dir` to keep your own settings as they are.

import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const [base, token, notebook, outDir = 'test/output'] = process.argv.slice(2);
if (!base || !token || !notebook) {
  console.error('usage: node test/ui/screenshot-renderers.js <lab url> <token> <notebook path> [output dir]');
  process.exit(2);
}
const THEMES = { light: 'JupyterLab Light', dark: 'JupyterLab Dark' };
const RENDERERS = ['.jp-nbdeploy-Validation', '.jp-nbdeploy-Deployment'];

async function setSetting(plugin, values) {
  const response = await fetch(`${base}/lab/api/settings/${plugin}`, {
    method: 'PUT',
    headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ raw: JSON.stringify(values) })
  });
  if (!response.ok) {
    throw new Error(`setting ${plugin} failed: ${response.status} ${await response.text()}`);
  }
}

const setTheme = name => setSetting('@jupyterlab/apputils-extension:themes', { theme: name });

mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
});
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
