// Opens a validation report's standalone page (report.save_html / nd.saveHtml) in headless
// Chromium with the network off, reads what a reader sees, records every request the page
// tried, and takes screenshots in the light and dark schemes and as printed.
//
//   node test/support/report-page-browser.js <page.html> <screenshot path prefix>
//
// prints the reading as JSON (the Python tests call it so; the TypeScript tests import
// `readReportPage`). The browser is Debian's Chromium, driven by playwright-core.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * What the page shows: `title`, `verdict`, `header`, `metrics` (rows as "name | value | …"),
 * `gates` (the same), `reviews`, `text` (all visible text), `svgs` (chart SVGs with marks),
 * `scripts` (script elements), `references` (elements that could load something), `requests` (every URL the page asked for besides itself),
 * `errors` (page errors), `screenshots` (paths written).
 */
export async function readReportPage(file, screenshotPrefix) {
  const url = pathToFileURL(resolve(file)).href;
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ARGS });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
    const requests = [];
    const errors = [];
    // Every request but the page's own load is recorded and refused.
    await context.route('**/*', route => {
      if (route.request().url() !== url) {
        requests.push(route.request().url());
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    page.on('request', request => {
      if (request.url() !== url && !requests.includes(request.url())) requests.push(request.url());
    });
    page.on('pageerror', error => errors.push(error.message));
    page.on('console', message => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(url, { waitUntil: 'load' });
    const reading = await page.evaluate(() => {
      const rows = selector =>
        [...document.querySelectorAll(`${selector} tbody tr`)].map(row => [...row.cells].map(cell => cell.innerText.trim()).join(' | '));
      return {
        title: document.title,
        verdict: document.querySelector('.jp-nbdeploy-verdict')?.innerText ?? null,
        header: document.querySelector('.jp-nbdeploy-header')?.innerText ?? null,
        metrics: rows('.jp-nbdeploy-metrics'),
        gates: rows('.jp-nbdeploy-gates'),
        reviews: [...document.querySelectorAll('.jp-nbdeploy-review')].map(item => item.innerText),
        text: document.body.innerText,
        svgs: [...document.querySelectorAll('.jp-nbdeploy-charts svg')].filter(svg => svg.querySelectorAll('path, text').length > 0).length,
        scripts: document.querySelectorAll('script').length,
        // anything that could load from elsewhere: links, sources, stylesheets, imports
        references: [...document.querySelectorAll('[src], [href], link, object, iframe')].map(node => node.outerHTML.slice(0, 120)),
        background: getComputedStyle(document.body).backgroundColor,
        color: getComputedStyle(document.body).color
      };
    });
    const screenshots = [];
    if (screenshotPrefix) {
      mkdirSync(dirname(screenshotPrefix), { recursive: true });
      for (const [name, media] of [
        ['light', { colorScheme: 'light', media: 'screen' }],
        ['dark', { colorScheme: 'dark', media: 'screen' }],
        ['print', { colorScheme: 'dark', media: 'print' }]
      ]) {
        await page.emulateMedia(media);
        const path = `${screenshotPrefix}-${name}.png`;
        await page.screenshot({ path, fullPage: true });
        screenshots.push(path);
        if (name === 'dark') {
          reading.darkBackground = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        }
      }
    }
    return { ...reading, requests, errors, screenshots };
  } finally {
    await browser.close();
  }
}

function chromiumPath() {
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, prefix] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node test/support/report-page-browser.js <page.html> [screenshot path prefix]');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(await readReportPage(file, prefix)) + '\n');
}
