import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { RenderedDeployment, deploymentRendererFactory } from '../src/deployment.js';
import { DEPLOYMENT_MIME_TYPE } from '../src/mime.js';
import type { IDeployment } from '../src/payloads.js';
import deploymentPayload from './fixtures/deployment.json';
import { mimeModel, rowsOf } from './helpers.js';

/** Version 3 as a 10% canary beside production v1, with v2 as a shadow (fixtures/make_payloads.py). */
const deployment = deploymentPayload as IDeployment;

const widgets: Widget[] = [];

async function render(payload: unknown): Promise<RenderedDeployment> {
  const widget = deploymentRendererFactory.createRenderer({
    mimeType: DEPLOYMENT_MIME_TYPE,
    sanitizer: { sanitize: (html: string) => html },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null
  }) as RenderedDeployment;
  widgets.push(widget);
  Widget.attach(widget, document.body);
  await widget.renderModel(mimeModel(DEPLOYMENT_MIME_TYPE, payload));
  return widget;
}

function copyButton(widget: Widget, what: string): HTMLButtonElement {
  return widget.node.querySelector(`button[data-copy="${what}"]`)!;
}

/** Lets the click handler's awaited copy settle. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

afterEach(() => {
  widgets.splice(0).forEach(widget => widget.dispose());
  vi.unstubAllGlobals();
  vi.useRealTimers();
  window.getSelection()?.removeAllRanges();
});

describe('deploymentRendererFactory', () => {
  it('should render the deployment MIME type, even in untrusted notebooks, ahead of HTML', () => {
    expect(deploymentRendererFactory.mimeTypes).toEqual(['application/vnd.nbdeploy.deployment+json']);
    expect(deploymentRendererFactory.safe).toBe(true);
    expect(deploymentRendererFactory.defaultRank).toBeLessThan(50);
  });
});

describe('RenderedDeployment', () => {
  it('should show the model, version, stage and this version’s share', async () => {
    const header = (await render(deployment)).node.querySelector('.jp-nbdeploy-header')!;
    expect(header.querySelector('.jp-nbdeploy-stage')!.textContent).toBe('staging');
    expect(header.querySelector('.jp-nbdeploy-title')!.textContent).toBe('Deployed cancer version 3');
    expect(header.querySelector('.jp-nbdeploy-facts')!.textContent).toBe('canary: 10% of traffic');
  });

  it('should show the endpoint', async () => {
    const endpoint = (await render(deployment)).node.querySelector('.jp-nbdeploy-endpoint code')!;
    expect(endpoint.textContent).toBe('http://127.0.0.1:8765/v2/models/cancer/infer');
  });

  it('should show the traffic split: production, canary and shadow', async () => {
    const widget = await render(deployment);
    expect(rowsOf(widget.node.querySelector('.jp-nbdeploy-traffic'))).toEqual([
      'v1 | production | 90% |',
      'v3 (this version) | canary | 10% |',
      'v2 | shadow | 100% mirrored |'
    ]);
    const bars = [...widget.node.querySelectorAll<HTMLElement>('.jp-nbdeploy-bar')].map(bar => bar.style.width);
    expect(bars).toEqual(['90%', '10%', '100%']);
  });

  it('should say when no version takes traffic', async () => {
    const widget = await render({ ...deployment, traffic: [] });
    expect(widget.node.querySelector('.jp-nbdeploy-traffic')).toBeNull();
    expect(widget.node.textContent).toContain('No version takes traffic.');
  });

  it('should show the curl, Python and TypeScript snippets, each with a copy button', async () => {
    const widget = await render(deployment);
    const snippets = [...widget.node.querySelectorAll<HTMLElement>('.jp-nbdeploy-snippet')];
    expect(snippets.map(snippet => snippet.dataset.language)).toEqual(['curl', 'python', 'typescript']);
    for (const snippet of snippets) {
      const language = snippet.dataset.language!;
      expect(snippet.querySelector('pre code')!.textContent).toBe(deployment.snippets[language]);
      expect(snippet.querySelector('button.jp-nbdeploy-copy')!.textContent).toBe('Copy');
    }
    expect(snippets[0].textContent).toContain('curl -X POST http://127.0.0.1:8765/v2/models/cancer/infer');
  });

  it('should copy a snippet with the Clipboard API', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    vi.stubGlobal('navigator', { clipboard: { writeText } });
    const widget = await render(deployment);
    const button = copyButton(widget, 'python');
    button.click();
    await settle();
    expect(writeText).toHaveBeenCalledWith(deployment.snippets.python);
    expect(button.textContent).toBe('Copied');
  });

  it('should select the snippet for Ctrl+C when the browser refuses to copy', async () => {
    vi.stubGlobal('navigator', { clipboard: { writeText: vi.fn().mockRejectedValue(new DOMException('denied', 'NotAllowedError')) } });
    const widget = await render(deployment);
    const button = copyButton(widget, 'curl');
    button.click();
    await settle();
    expect(button.textContent).toBe('Selected: press Ctrl+C');
    expect(window.getSelection()!.toString()).toBe(deployment.snippets.curl);
  });

  it('should read "Copy" again after a while, and leave no timer behind when disposed', async () => {
    vi.useFakeTimers();
    vi.stubGlobal('navigator', { clipboard: { writeText: vi.fn().mockResolvedValue(undefined) } });
    const widget = await render(deployment);
    const button = copyButton(widget, 'endpoint');
    button.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(button.textContent).toBe('Copied');
    await vi.advanceTimersByTimeAsync(2000);
    expect(button.textContent).toBe('Copy');

    button.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    widget.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('should render payload text as text, never as markup', async () => {
    const widget = await render({ ...deployment, snippets: { curl: '<script>alert(1)</script>' } });
    expect(widget.node.querySelector('script')).toBeNull();
    expect(widget.node.querySelector('pre code')!.textContent).toBe('<script>alert(1)</script>');
  });

  it('should say so when the payload cannot be read', async () => {
    const widget = await render(null);
    expect(widget.node.textContent).toBe('This nbdeploy deployment output could not be read.');
  });
});

describe('capture', () => {
  it("should say what share of requests the deployment keeps, and nothing when it keeps none", async () => {
    const kept = await render({ ...deployment, capture: { rate: 0.1, retention_days: 7 } });
    expect(kept.node.querySelector('.jp-nbdeploy-capture')?.textContent).toBe('Capture keeps 10% of requests for 7 days');
    const one = await render({ ...deployment, capture: { rate: 1, retention_days: 1 } });
    expect(one.node.querySelector('.jp-nbdeploy-capture')?.textContent).toBe('Capture keeps 100% of requests for 1 day');
    for (const capture of [null, undefined]) {
      const none = await render({ ...deployment, capture });
      expect(none.node.querySelector('.jp-nbdeploy-capture')).toBeNull();
    }
  });
});
