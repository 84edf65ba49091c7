// Screenshots of a saved monitor chart in a running JupyterLab, in the light and dark themes,
// and of its SVG fallback on a light and a dark page: to compare the chart before and after
// a change (same payload data, another build of the extension or the service).
//
//   node test/ui/screenshot-monitor.js <lab url> <token> <notebook path> <output prefix>
//
// The notebook's first output must be an `nd.monitor` output (payload and SVG). Nothing is
// run; the model need not exist in the lab's service (the chart stays, its status line says
// so). The browser is Debian's Chromium (`make chromium`), driven by playwright-core.
// JupyterLab's theme is set through its settings API, so start it with its own
// `--LabApp.user_settings_dir` to keep your own settings as they are.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { THEMES, launchChromium, setSetting, setTheme } from './lab-browser.js';

const [base, token, notebook, prefix] = process.argv.slice(2);
if (!base || !token || !notebook || !prefix) {
  console.error('usage: node test/ui/screenshot-monitor.js <lab url> <token> <notebook path> <output prefix>');
  process.exit(2);
}

async function savedSvg() {
  const response = await fetch(`${base}/api/contents/${notebook}?content=1`, { headers: { Authorization: `token ${token}` } });
  const model = await response.json();
  const output = model.content.cells.flatMap(cell => cell.outputs ?? []).find(o => o.data?.['image/svg+xml']);
  const svg = output.data['image/svg+xml'];
  return Array.isArray(svg) ? svg.join('') : svg;
}

mkdirSync(dirname(prefix), { recursive: true });
const browser = await launchChromium();
const problems = [];
try {
  await setSetting(base, token, '@jupyterlab/apputils-extension:notification', { fetchNews: 'false' });
  for (const [theme, name] of Object.entries(THEMES)) {
    await setTheme(base, token, name);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    page.on('pageerror', error => problems.push(`${theme}: page error: ${error.message}`));
    page.on('console', message => {
      if (message.type() === 'error') {
        problems.push(`${theme}: console ${message.type()}: ${message.text()}`);
      }
    });
    await page.goto(`${base}/doc/tree/${notebook}?token=${token}&reset`);
    await page.waitForFunction(expected => document.body.dataset.jpThemeName === expected, name, { timeout: 60_000 });
    const chart = page.locator('.jp-nbdeploy-Monitor .jp-nbdeploy-monitorChart');
    await chart.locator('svg').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2000); // fonts, and the re-draw in the theme's colours
    await chart.scrollIntoViewIfNeeded();
    await chart.screenshot({ path: `${prefix}-chart-${theme}.png` });
    await page.close();
  }
  // The SVG fallback as viewers without the extension show it: an image on a light and a dark page.
  const svg = await savedSvg();
  for (const [theme, background] of [['light', '#ffffff'], ['dark', '#111111']]) {
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
    await page.setContent(`<body style="margin:0;background:${background}"><img id="c" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"></body>`);
    await page.locator('#c').screenshot({ path: `${prefix}-svg-${theme}.png` });
    await page.close();
  }
} finally {
  await setTheme(base, token, THEMES.light).catch(() => undefined);
  await browser.close();
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
