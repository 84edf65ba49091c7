/**
 * Browser end-to-end tests in a real JupyterLab (`make test-ui`): Galata's fixtures and
 * helpers on @playwright/test, driving Debian's Chromium (`make chromium`; Playwright's own
 * browser download cannot work here). `lab-server.ts` starts `nbdeploy lab` for the run.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { defineConfig } from '@playwright/test';

/** A port nothing listens on now (asked of the OS by a throwaway process: config loading is synchronous). */
function freePort(): string {
  const probe = "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })";
  return execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }).trim();
}

function chromium(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium is not installed: run `make chromium` (Debian\'s chromium package)');
  }
}

// Chosen once, in the runner's process: its workers load this file again and inherit these.
process.env.NBDEPLOY_UI_PORT ??= freePort();
process.env.NBDEPLOY_UI_TOKEN ??= randomBytes(24).toString('hex');

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  globalSetup: './lab-server.ts',
  // One JupyterLab and two cores: the tests share the server and run one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 150_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  reportSlowTests: null,
  use: {
    baseURL: `http://127.0.0.1:${process.env.NBDEPLOY_UI_PORT}`,
    // Jupyter's token, on pages, API calls (Galata's contents helper) and WebSockets alike.
    extraHTTPHeaders: { Authorization: `token ${process.env.NBDEPLOY_UI_TOKEN}` },
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: chromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    },
    viewport: { width: 1280, height: 1000 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    // Playwright's video recorder needs its own ffmpeg download.
    video: 'off'
  }
});
