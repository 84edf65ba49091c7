import { describe, expect, it } from 'vitest';

import { RenderedInspect, inspectRendererFactory, renderInspect } from '../src/inspect.js';
import { INSPECT_MIME_TYPE } from '../src/mime.js';
import type { IInspect } from '../src/payloads.js';
import { mimeModel, rendererOptions, rowsOf } from './helpers.js';

/** What nd.inspect keeps in the notebook for a window in which "mean radius" moved up. */
const inspection: IInspect = {
  model: 'cancer',
  version: 2,
  from: '2026-12-03T10:00:00.000Z',
  to: '2026-12-03T11:00:00.000Z',
  rows: 120,
  requests: 12,
  truncated: false,
  picked: true,
  feature: {
    name: 'mean radius',
    kind: 'numeric',
    personal: false,
    values: 120,
    nulls: { captured: 0, training: 0 },
    test: { method: 'ks', statistic: 0.6125, p_value: 3.2e-31, threshold: 0.05, drifted: true },
    note: null,
    histogram: { edges: [6, 8, 10, 12], source: 'profile', training: [0.2, 0.5, 0.3], captured: [0, 0.25, 0.35], below: 0, above: 0.4 },
    quantiles: [
      { q: 0.5, training: 13.4, captured: 20.5, shift: 7.1, shift_sd: 2.02 },
      { q: 0.25, training: 11.7, captured: 18.6, shift: 6.9, shift_sd: 1.96 }
    ]
  },
  integrity: {
    counts: { out_of_range: 48 },
    features: [{ feature: 'mean radius', counts: { out_of_range: 48 }, detail: '4 value(s) outside the training range [6.98, 28.1] widened by 10% (e.g. 33.1); served: as sent' }],
    windows: [{ t: 1796378400000, kind: 'out_of_range', count: 48 }]
  },
  moved_together: [
    { feature: 'mean perimeter', kind: 'numeric', method: 'ks', statistic: 0.05, p_value: 0.97, threshold: 0.05, drifted: false },
    { feature: 'mean area', kind: 'numeric', method: 'ks', statistic: 0.04, p_value: 0.99, threshold: 0.05, drifted: false }
  ],
  tested: 30,
  drifted: 1,
  chart: {
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      data: { name: 'bins' },
      mark: 'bar',
      encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' }, y: { field: 'share', type: 'quantitative' }, y2: { datum: 0 }, color: { field: 'source', type: 'nominal' } }
    },
    datasets: {
      bins: [
        { source: 'training', start: 6, end: 8, share: 0.2 },
        { source: 'captured', start: 6, end: 8, share: 0 }
      ]
    }
  }
};

const text = (nodes: HTMLElement[]): string => nodes.map(n => n.textContent).join('\n');

describe('inspect renderer', () => {
  it('should register for the inspect MIME type, ahead of the HTML fallback', () => {
    expect(inspectRendererFactory.mimeTypes).toEqual(['application/vnd.nbdeploy.inspect+json']);
    expect(inspectRendererFactory.safe).toBe(true);
    expect(inspectRendererFactory.defaultRank).toBeLessThan(50);
  });

  it('should show the feature, its test and verdict, what moved, the integrity events and what moved together', () => {
    const nodes = renderInspect(inspection);
    const head = nodes[0]!;
    expect(head.textContent).toContain('Inspect mean radius of cancer');
    expect(head.querySelector('.jp-nbdeploy-verdict')!.getAttribute('data-verdict')).toBe('drifted');
    expect(head.textContent).toContain('Kolmogorov–Smirnov 0.6125, p 3.2e-31 (drifts at p ≤ 0.05)');
    const all = text(nodes);
    expect(all).toContain('120 captured rows (12 requests) served by version 2 from 2026-12-03 10:00 UTC to 2026-12-03 11:00 UTC — the most drifted of 30 features tested (1 drifted).');
    expect(all).toContain('Quantiles that moved most · 0.0% below and 40.0% above the training range');
    const find = (selector: string) => nodes.map(n => n.querySelector(selector)).find(Boolean) ?? null;
    expect(rowsOf(find('.jp-nbdeploy-moved'))).toEqual(['median | 13.4000 | 20.5000 | +7.1000 | +2.02 sd', 'p25 | 11.7000 | 18.6000 | +6.9000 | +1.96 sd']);
    expect(rowsOf(find('.jp-nbdeploy-integrityEvents'))[0]).toContain('mean radius | out of range 48 | 4 value(s) outside');
    expect(rowsOf(find('.jp-nbdeploy-together'))).toEqual([
      'mean perimeter | Kolmogorov–Smirnov | 0.0500 | 0.9700 | ✓ no drift',
      'mean area | Kolmogorov–Smirnov | 0.0400 | 0.9900 | ✓ no drift'
    ]);
  });

  it('should show categories (of hashes for personal data) and say why a feature was not tested', () => {
    const categorical = renderInspect({
      ...inspection,
      picked: false,
      feature: {
        ...inspection.feature,
        name: 'city',
        kind: 'categorical',
        personal: true,
        test: { method: 'chisquare', statistic: null, p_value: 0, threshold: 0.05, drifted: true },
        histogram: undefined,
        quantiles: undefined,
        categories: [{ category: '113ae864867dcf72de93bf8891681cbd', training: 0, captured: 0.33, change: 0.33 }],
        new_categories: 1
      }
    });
    const all = text(categorical);
    expect(all).toContain('chi-square ∞, p 0.0e+0 (drifts at p < 0.05)');
    expect(all).toContain('Categories that moved most · 1 not seen in training');
    expect(all).toContain('113ae864867dcf72de93bf8891681cbd0.0%33.0%+33.0 pts');
    expect(all).toContain('categories are shown as salted hashes');
    const untested = renderInspect({ ...inspection, chart: null, feature: { ...inspection.feature, test: null, histogram: undefined, quantiles: undefined, note: '"age" is personal data' } });
    expect(untested[0]!.querySelector('.jp-nbdeploy-verdict')!.textContent).toBe('– not tested');
    expect(text(untested)).toContain('"age" is personal data');
    expect(untested.some(n => n.classList.contains('jp-nbdeploy-inspectChart'))).toBe(false);
  });

  it('should draw the chart from the payload, and say so when the payload cannot be read', async () => {
    const widget = inspectRendererFactory.createRenderer(rendererOptions(INSPECT_MIME_TYPE)) as RenderedInspect;
    expect(widget.node.classList.contains('jp-nbdeploy-Inspect')).toBe(true);
    await widget.renderModel(mimeModel(INSPECT_MIME_TYPE, inspection));
    expect(widget.chart!.view!.data('bins')).toHaveLength(2);
    expect(widget.node.querySelector('.jp-nbdeploy-inspectChart svg')).not.toBeNull();
    await widget.renderModel(mimeModel(INSPECT_MIME_TYPE, 'nonsense'));
    expect(widget.chart).toBeNull();
    expect(widget.node.textContent).toBe('This nbdeploy inspection output could not be read.');
    widget.dispose();
  });
});
