/**
 * The deployment renderer (`application/vnd.nbdeploy.deployment+json`): model, version,
 * stage, endpoint, the traffic split (production, canary, shadow) and the usage snippets
 * integrators copy (curl, Python, TypeScript) — from the payload alone.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { copyText, selectContents } from './clipboard.js';
import { formatPercent, h, section, table, textCell, textHeader } from './dom.js';
import { DEPLOYMENT_MIME_TYPE, RENDERER_RANK } from './mime.js';
import type { IDeployment, ITrafficShare } from './payloads.js';

/** The class of the renderer's node. */
const RENDERER_CLASS = 'jp-nbdeploy-Deployment';

/** Snippet languages in the order shown, with their labels; others follow under their own name. */
const SNIPPET_LABELS: Record<string, string> = { curl: 'curl', python: 'Python', typescript: 'TypeScript' };

/** How long a copy button says "Copied" before it reads "Copy" again. */
const FEEDBACK_MS = 2000;

/** A deployment in a notebook output. */
export class RenderedDeployment extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass(RENDERER_CLASS);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const deployment = model.data[this._mimeType] as unknown as IDeployment;
    this._clearTimers();
    this.node.replaceChildren(...this._render(deployment));
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clearTimers();
    super.dispose();
  }

  private _render(deployment: IDeployment): HTMLElement[] {
    if (!deployment || typeof deployment !== 'object' || typeof deployment.model !== 'string') {
      return [h('div', { className: 'jp-nbdeploy-error' }, 'This nbdeploy deployment output could not be read.')];
    }
    const own = (deployment.traffic ?? []).find(share => share.version === deployment.version);
    return [
      h(
        'header',
        { className: 'jp-nbdeploy-header' },
        h('span', { className: 'jp-nbdeploy-stage', dataset: { stage: deployment.stage } }, deployment.stage),
        h('span', { className: 'jp-nbdeploy-title' }, 'Deployed ', h('code', {}, deployment.model), ` version ${deployment.version}`),
        own ? h('span', { className: 'jp-nbdeploy-facts' }, describeShare(own)) : null
      ),
      h(
        'div',
        { className: 'jp-nbdeploy-endpoint' },
        h('span', { className: 'jp-nbdeploy-label' }, 'Endpoint'),
        h('code', {}, deployment.endpoint),
        this._copyButton(deployment.endpoint, 'endpoint', 'the endpoint')
      ),
      deployment.capture
        ? h(
            'div',
            { className: 'jp-nbdeploy-detail jp-nbdeploy-capture' },
            h('span', { className: 'jp-nbdeploy-label' }, 'Capture'),
            ` ${describeCapture(deployment.capture)}`
          )
        : null,
      traffic(deployment),
      this._snippets(deployment.snippets ?? {})
    ].filter((node): node is HTMLElement => node !== null);
  }

  private _snippets(snippets: Record<string, string>): HTMLElement | null {
    const known = Object.keys(SNIPPET_LABELS).filter(lang => lang in snippets);
    const languages = [...known, ...Object.keys(snippets).filter(lang => !(lang in SNIPPET_LABELS))];
    if (!languages.length) {
      return null;
    }
    return section(
      'Usage',
      ...languages.map(lang => {
        const code = h('code', {}, snippets[lang]);
        const label = SNIPPET_LABELS[lang] ?? lang;
        return h(
          'div',
          { className: 'jp-nbdeploy-snippet', dataset: { language: lang } },
          h(
            'div',
            { className: 'jp-nbdeploy-snippetHeader' },
            h('span', { className: 'jp-nbdeploy-label' }, label),
            this._copyButton(snippets[lang], lang, `the ${label} snippet`, code)
          ),
          h('pre', {}, code)
        );
      })
    );
  }

  /** A button that copies `text`; when the browser refuses, it selects `shown` for the keyboard. */
  private _copyButton(text: string, what: string, description: string, shown?: HTMLElement): HTMLButtonElement {
    const button = h('button', { className: 'jp-nbdeploy-copy', title: `Copy ${description}`, dataset: { copy: what } }, 'Copy');
    button.type = 'button';
    button.addEventListener('click', async () => {
      const copied = await copyText(text);
      if (this.isDisposed) {
        return;
      }
      if (!copied && shown) {
        selectContents(shown);
      }
      button.textContent = copied ? 'Copied' : shown ? `Selected: press ${copyKeys()}` : 'Copy failed';
      const timer = window.setTimeout(() => {
        this._timers.delete(timer);
        button.textContent = 'Copy';
      }, FEEDBACK_MS);
      this._timers.add(timer);
    });
    return button;
  }

  private _clearTimers(): void {
    this._timers.forEach(timer => window.clearTimeout(timer));
    this._timers.clear();
  }

  private _mimeType: string;
  private _timers = new Set<number>();
}

/** Renders deployments; safe: payload text only becomes text nodes. */
export const deploymentRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [DEPLOYMENT_MIME_TYPE],
  defaultRank: RENDERER_RANK,
  createRenderer: options => new RenderedDeployment(options)
};

/** The keyboard shortcut for copying on this platform. */
function copyKeys(): string {
  return /Mac|iPhone|iPad/.test(navigator.platform ?? '') ? '⌘C' : 'Ctrl+C';
}

function describeShare(share: ITrafficShare): string {
  return share.role === 'shadow' ? 'shadow: mirrors every request' : `${share.role}: ${formatPercent(share.percent)} of traffic`;
}

/** "keeps 10 % of requests for 7 days". */
export function describeCapture(capture: { rate: number; retention_days: number }): string {
  const days = Number(capture.retention_days.toFixed(2));
  return `keeps ${formatPercent(capture.rate * 100)} of requests for ${days} ${days === 1 ? 'day' : 'days'}`;
}

function traffic(deployment: IDeployment): HTMLElement {
  if (!deployment.traffic?.length) {
    return section('Traffic', h('p', { className: 'jp-nbdeploy-detail' }, 'No version takes traffic.'));
  }
  const rows = deployment.traffic.map(share => {
    const bar = h('span', { className: `jp-nbdeploy-bar jp-mod-${share.role}` });
    bar.style.width = `${Math.max(0, Math.min(100, share.percent))}%`;
    return {
      cells: [
        `v${share.version}${share.version === deployment.version ? ' (this version)' : ''}`,
        textCell(share.role),
        share.role === 'shadow' ? `${formatPercent(share.percent)} mirrored` : formatPercent(share.percent),
        h('td', { className: 'jp-nbdeploy-barCell' }, h('span', { className: 'jp-nbdeploy-track' }, bar))
      ],
      className: `jp-nbdeploy-share jp-mod-${share.role}`
    };
  });
  return section('Traffic', table(['version', textHeader('role'), 'share', ''], rows, 'jp-nbdeploy-traffic'));
}
