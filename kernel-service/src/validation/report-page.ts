/**
 * A stored validation report as a standalone HTML page (`report.save_html(path)` in Python,
 * `nd.saveHtml(report, path)` in TypeScript; the `validation_page` request): one file that
 * opens in any browser, offline, with no service and no script, for people who review
 * outside Jupyter.
 *
 * The content is the notebook panel's: the extension's own renderer
 * (extension/src/validation-report.ts) runs here with a document of its own
 * (`html-document.ts`) and is written out as HTML, styled by the extension's stylesheet
 * (style/base.css) with JupyterLab's variables set for light and dark. The charts are the
 * panel's Vega-Lite specs drawn as SVG by vega's headless renderer, as the monitor chart's
 * fallback is — a few tens of kilobytes, where inlining vega, vega-lite and vega-embed to
 * draw them in the browser would add over 800 KB of script. The page is built from the
 * report as the registry stores it, with its reviews.
 */
import { readFileSync } from 'node:fs';
import { formatTime, withDocument } from '#extension/dom.js';
import type { IValidationReport } from '#extension/payloads.js';
import { validationChartsSpec } from '#extension/validation-charts.js';
import { CHARTS_CLASS, REPORT_CLASS, renderReport } from '#extension/validation-report.js';
import { renderSvg } from '../monitoring/monitor-svg.js';
import { validationView } from '../protocol/views.js';
import type { ReviewRecord, ValidationRecord } from '../registry/registry.js';
import { VERSION } from '../version.js';
import { HtmlElement, RawHtml, escapeText, htmlDocument } from './html-document.js';

/** The renderers' stylesheet (the package ships style/; the same path from src/ and lib/). */
const RENDERER_CSS = new URL('../../../style/base.css', import.meta.url);

/** JupyterLab's variables that style/base.css reads, as its light theme sets them. */
const LIGHT = `
  --jp-ui-font-family: system-ui, -apple-system, 'Segoe UI', helvetica, arial, sans-serif;
  --jp-code-font-family: menlo, consolas, 'DejaVu Sans Mono', monospace;
  --jp-ui-font-size0: 0.8333em;
  --jp-ui-font-size1: 13px;
  --jp-ui-font-size2: 1.2em;
  --jp-code-font-size: 13px;
  --jp-border-width: 1px;
  --jp-border-radius: 2px;
  --jp-layout-color1: #ffffff;
  --jp-layout-color2: #eeeeee;
  --jp-content-font-color1: rgba(0, 0, 0, 0.87);
  --jp-content-font-color2: rgba(0, 0, 0, 0.6);
  --jp-border-color1: #bdbdbd;
  --jp-border-color2: #e0e0e0;
  --jp-brand-color1: #1976d2;
  --jp-success-color1: #2e7d32;
  --jp-error-color1: #c62828;
  --jp-warn-color1: #e65100;`;

/** The same for the dark theme, with lighter marks so that they read on the dark ground. */
const DARK = `
  --jp-layout-color1: #111111;
  --jp-layout-color2: #2b2b2b;
  --jp-content-font-color1: rgba(255, 255, 255, 0.92);
  --jp-content-font-color2: rgba(255, 255, 255, 0.66);
  --jp-border-color1: #616161;
  --jp-border-color2: #3a3a3a;
  --jp-brand-color1: #64b5f6;
  --jp-success-color1: #66bb6a;
  --jp-error-color1: #ef5350;
  --jp-warn-color1: #ffa726;`;

const PAGE_CSS = `
:root {${LIGHT}
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {${DARK}
  }
}
body {
  margin: 0;
  background: var(--jp-layout-color1);
  color: var(--jp-content-font-color1);
  font-family: var(--jp-ui-font-family);
}
main {
  max-width: 1100px;
  margin: 0 auto;
  padding: 16px 24px 32px;
}
.${REPORT_CLASS} {
  overflow-x: visible;
}
.${CHARTS_CLASS} {
  color: var(--jp-content-font-color2);
}
.${CHARTS_CLASS} svg {
  max-width: 100%;
  height: auto;
}
footer {
  margin-top: 24px;
  padding-top: 8px;
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
  color: var(--jp-content-font-color2);
  font-size: var(--jp-ui-font-size0);
}
@media print {
  :root {${LIGHT}
    color-scheme: light;
  }
  body {
    background: none;
  }
  main {
    max-width: none;
    padding: 0;
  }
  .jp-nbdeploy-section,
  .jp-nbdeploy-table tr {
    break-inside: avoid;
  }
  .jp-nbdeploy-header,
  .jp-nbdeploy-confusion td.jp-nbdeploy-diagonal {
    print-color-adjust: exact;
    -webkit-print-color-adjust: exact;
  }
}`;

/**
 * The charts' colours follow the text around them (`currentColor`: the page's light or dark
 * scheme, or print) on a transparent ground, as the panel's follow JupyterLab's theme.
 */
const CHART_CONFIG = {
  background: null,
  font: 'system-ui, -apple-system, "Segoe UI", helvetica, arial, sans-serif',
  axis: {
    labelColor: 'currentColor',
    titleColor: 'currentColor',
    domainColor: 'currentColor',
    tickColor: 'currentColor',
    gridColor: 'currentColor',
    gridOpacity: 0.15
  },
  title: { color: 'currentColor' },
  view: { stroke: 'currentColor', strokeOpacity: 0.25 }
};

/**
 * Nothing is fetched and nothing runs: no script, no request of any kind, styles and
 * images only from the page itself.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The page of a stored report, with the reviews of that report. */
export async function validationPage(record: ValidationRecord, reviews: readonly ReviewRecord[], now = new Date()): Promise<string> {
  const view = validationView(record, reviews);
  const report = { ...record.report, id: record.id, reviews: view.reviews } as unknown as IValidationReport;
  const sections = withDocument(htmlDocument as unknown as Pick<Document, 'createElement'>, () => renderReport(report));
  const root = new HtmlElement('div');
  root.className = REPORT_CLASS;
  root.append(...(sections as unknown as HtmlElement[]));
  const charts = root.findByClass(CHARTS_CLASS);
  const spec = charts ? validationChartsSpec(report) : null;
  if (charts && spec) {
    try {
      charts.append(new RawHtml(await renderSvg({ ...spec, config: CHART_CONFIG })));
    } catch (error) {
      // The tables say the same; the page says why the charts are missing.
      charts.append(`The charts could not be drawn: ${(error as Error).message}`);
    }
  }
  const verdict = record.passed ? 'passed' : 'failed';
  const title = `Validation of ${record.model} version ${record.version} — ${verdict}`;
  const footer =
    `Validation report #${record.id} of ${record.model} version ${record.version}, recorded by ${record.createdBy} ` +
    `at ${formatTime(record.createdAt)}. Page written by nbdeploy ${VERSION} at ${formatTime(now.toISOString())}; ` +
    'it needs no network and no service.';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="generator" content="nbdeploy">',
    `<title>${escapeText(title)}</title>`,
    `<style>${readFileSync(RENDERER_CSS, 'utf8')}${PAGE_CSS}\n</style>`,
    '</head>',
    '<body>',
    `<main>${root.outerHTML}<footer>${escapeText(footer)}</footer></main>`,
    '</body>',
    '</html>',
    ''
  ].join('\n');
}
