// What the screenshot scripts share: JupyterLab's settings API (the theme, the news toast)
// and Debian's Chromium (`make chromium`) driven by playwright-core.

import { execFileSync } from 'node:child_process';

import { chromium } from 'playwright-core';

export const THEMES = { light: 'JupyterLab Light', dark: 'JupyterLab Dark' };

/** Sets a plugin's settings through JupyterLab's settings API. */
export async function setSetting(base, token, plugin, values) {
  const response = await fetch(`${base}/lab/api/settings/${plugin}`, {
    method: 'PUT',
    headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ raw: JSON.stringify(values) })
  });
  if (!response.ok) {
    throw new Error(`setting ${plugin} failed: ${response.status} ${await response.text()}`);
  }
}

export const setTheme = (base, token, name) => setSetting(base, token, '@jupyterlab/apputils-extension:themes', { theme: name });

export function launchChromium() {
  return chromium.launch({
    executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  });
}
