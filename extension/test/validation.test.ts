import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it } from 'vitest';

import { VALIDATION_MIME_TYPE } from '../src/mime.js';
import type { IValidationReport } from '../src/payloads.js';
import { RenderedValidation, validationRendererFactory } from '../src/validation.js';
import failedPayload from './fixtures/validation-failed.json';
import passedPayload from './fixtures/validation-passed.json';
import { mimeModel, rowsOf } from './helpers.js';

// Payloads recorded from the real notebook API (fixtures/make_payloads.py).
/** Version 3: fails its gates, drifted holdout, shared rows, a missing card field, changes requested. */
const failed = failedPayload as IValidationReport;
/** Version 1: passes; its baseline gate is n/a (nothing was in production yet). */
const passed = passedPayload as IValidationReport;

const widgets: Widget[] = [];

async function render(report: unknown): Promise<HTMLElement> {
  const widget = validationRendererFactory.createRenderer({
    mimeType: VALIDATION_MIME_TYPE,
    sanitizer: { sanitize: (html: string) => html },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null
  }) as RenderedValidation;
  widgets.push(widget);
  Widget.attach(widget, document.body);
  await widget.renderModel(mimeModel(VALIDATION_MIME_TYPE, report));
  return widget.node;
}

afterEach(() => {
  widgets.splice(0).forEach(widget => widget.dispose());
});

describe('validationRendererFactory', () => {
  it('should render the validation MIME type, even in untrusted notebooks, ahead of HTML', () => {
    expect(validationRendererFactory.mimeTypes).toEqual(['application/vnd.nbdeploy.validation+json']);
    expect(validationRendererFactory.safe).toBe(true);
    expect(validationRendererFactory.defaultRank).toBeLessThan(50);
  });
});

describe('RenderedValidation', () => {
  it('should show a failed report as failed', async () => {
    const node = await render(failed);
    const header = node.querySelector('.jp-nbdeploy-header')!;
    expect(header.classList).toContain('jp-mod-fail');
    expect(header.textContent).toContain('Failed');
    expect(header.textContent).toContain('Validation of cancer version 3');
    expect(header.querySelector('.jp-nbdeploy-facts')!.textContent).toBe('171 rows · classification · 2026-11-28 18:36 UTC · compared with production v1');
  });

  it('should show a passed report as passed', async () => {
    const node = await render(passed);
    const header = node.querySelector('.jp-nbdeploy-header')!;
    expect(header.classList).toContain('jp-mod-pass');
    expect(header.textContent).toContain('Passed');
    expect(header.textContent).not.toContain('compared with production');
  });

  it('should show each metric with its 95% interval, training and production values', async () => {
    const node = await render(failed);
    const table = node.querySelector('.jp-nbdeploy-metrics')!;
    expect([...table.querySelectorAll('th')].map(th => th.textContent)).toEqual(['metric', 'value', '95% interval', 'training', 'production v1']);
    const rows = rowsOf(table);
    expect(rows).toHaveLength(6);
    expect(rows).toContain('f1 | 0.8435 | 0.7760 – 0.9045 | 0.9565 | 0.9457');
    expect(rows).toContain('roc_auc | 0.8737 | 0.8128 – 0.9216 | 0.9706 | 0.9952');
  });

  it('should list metrics in the order the bridge computes them, even from a saved notebook', async () => {
    // Jupyter writes notebooks with sorted JSON keys.
    const sorted = JSON.parse(JSON.stringify(failed, (_key, value) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort()) : value)));
    expect(Object.keys(sorted.metrics)).toEqual(['accuracy', 'f1', 'log_loss', 'precision', 'recall', 'roc_auc']);
    const node = await render(sorted);
    const order = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'];
    expect(rowsOf(node.querySelector('.jp-nbdeploy-metrics')).map(row => row.split(' | ')[0])).toEqual(order);
    expect([...node.querySelectorAll('.jp-nbdeploy-slices th')].map(th => th.textContent)).toEqual(['slice', 'rows', ...order]);
  });

  it('should show a perfect score with four decimals like any other', async () => {
    const rows = rowsOf((await render(passed)).querySelector('.jp-nbdeploy-slices'));
    expect(rows[0]).toBe('mean radius in (7.6899999999999995, 11.63] | 43 | 1.0000 | 1.0000 | 1.0000 | 1.0000 | 1.0000 | 0.0088');
  });

  it('should show a missing production baseline as a dash', async () => {
    const rows = rowsOf((await render(passed)).querySelector('.jp-nbdeploy-metrics'));
    expect(rows).toContain('accuracy | 0.9649 | 0.9357 – 0.9883 | 0.9548 | —');
  });

  it('should mark failing gates as failed and say why', async () => {
    const node = await render(failed);
    const gates = [...node.querySelectorAll('.jp-nbdeploy-gate')];
    expect(gates).toHaveLength(3);
    const f1 = gates[0];
    expect(f1.classList).toContain('jp-mod-fail');
    expect(f1.querySelector('.jp-nbdeploy-badge')!.getAttribute('data-status')).toBe('fail');
    expect(rowsOf(node.querySelector('.jp-nbdeploy-gates'))[0]).toBe('f1 >= 0.95 | 0.8435 | 0.9500 | ✗ fail | f1 = 0.8435 misses >= 0.95');
  });

  it('should mark passing gates as passed and gates without a baseline as n/a', async () => {
    const node = await render(passed);
    const statuses = [...node.querySelectorAll('.jp-nbdeploy-gates .jp-nbdeploy-badge')].map(badge => badge.textContent);
    expect(statuses).toEqual(['✓ pass', '– n/a']);
    expect(rowsOf(node.querySelector('.jp-nbdeploy-gates'))[1]).toContain('no production version to compare with');
  });

  it('should show the confusion matrix with per-class metrics', async () => {
    const table = (await render(failed)).querySelector('.jp-nbdeploy-confusion')!;
    expect(rowsOf(table)).toEqual(['benign | 86 | 19 | 0.9556 | 0.8190 | 0.8821 | 105', 'malignant | 4 | 62 | 0.7654 | 0.9394 | 0.8435 | 66']);
    expect([...table.querySelectorAll('.jp-nbdeploy-diagonal')].map(cell => cell.textContent)).toEqual(['86', '62']);
  });

  it('should show slices, and say when one is too small to measure', async () => {
    const report = structuredClone(failed);
    report.slices!.push({ slice: 'mean radius > 25', rows: 3, metrics: null });
    const rows = rowsOf((await render(report)).querySelector('.jp-nbdeploy-slices'));
    expect(rows).toHaveLength(5);
    expect(rows[3]).toBe('mean radius in (16.12, 25.22] | 43 | 0.9302 | 0.9524 | 0.9756 | 0.9639 | 0.7195 | 0.9937');
    expect(rows[4]).toBe('mean radius > 25 | 3 | too few rows to measure');
  });

  it('should show drifted features and rows shared with training', async () => {
    const node = await render(failed);
    const drift = node.querySelector('.jp-nbdeploy-drift')!;
    expect(drift.classList).toContain('jp-mod-warn');
    expect(drift.textContent).toBe('Holdout drifted from training on 1 of 30 features: mean texture (KS p = 5.5e-10)');
    const shared = node.querySelector('.jp-nbdeploy-shared')!;
    expect(shared.classList).toContain('jp-mod-warn');
    expect(shared.textContent).toContain('12 rows (7.0%) shared with the training sample');
  });

  it('should say when the holdout looks like the training data', async () => {
    const node = await render(passed);
    expect(node.querySelector('.jp-nbdeploy-drift')!.textContent).toBe('No drift from training detected (30 features tested)');
    expect(node.querySelector('.jp-nbdeploy-shared')!.textContent).toBe('0 rows (0.0%) shared with the training sample');
  });

  it('should mark rows shared with training as the notebook’s evidence when the client sent them', async () => {
    const checks = { ...passed.data_checks, shared_with_training: { checked: true, rows: 2, share: 0.01, source: 'client' as const } };
    const node = await render({ ...passed, data_checks: checks });
    expect(node.querySelector('.jp-nbdeploy-shared')!.textContent).toBe(
      '2 rows (1.0%) shared with the training sample — they flatter the metrics (the notebook’s check, not part of the verdict)'
    );
  });

  it('should show the governance checklist with missing items marked', async () => {
    const node = await render(failed);
    const rows = rowsOf(node.querySelector('.jp-nbdeploy-checklist'));
    expect(rows).toContain('Training-data source | ! missing | not given in the model card');
    expect(node.querySelector('.jp-nbdeploy-checklistItem.jp-mod-missing')).not.toBeNull();
  });

  it('should show reviews when the payload has them', async () => {
    const node = await render(failed);
    const reviews = [...node.querySelectorAll('.jp-nbdeploy-review')];
    expect(reviews).toHaveLength(1);
    expect(reviews[0].getAttribute('data-decision')).toBe('request_changes');
    expect(reviews[0].textContent).toContain('Changes requested by api · 2026-11-28 18:36 UTC');
    expect(reviews[0].textContent).toContain('F1 misses the gate');
  });

  it('should leave out the sections a payload does not have', async () => {
    const node = await render(passed);
    expect(node.querySelector('.jp-nbdeploy-reviews')).toBeNull();
    const minimal = await render({ model: 'm', version: 1, task: 'regression', rows: 10, passed: true, metrics: { mae: 0.5 } });
    expect([...minimal.querySelectorAll('.jp-nbdeploy-sectionTitle')].map(title => title.textContent)).toEqual(['Metrics']);
  });

  it('should render payload text as text, never as markup', async () => {
    const node = await render({ ...failed, model: '<img src=x onerror="alert(1)">' });
    expect(node.querySelector('img')).toBeNull();
    expect(node.querySelector('.jp-nbdeploy-title code')!.textContent).toBe('<img src=x onerror="alert(1)">');
  });

  it('should say so when the payload cannot be read', async () => {
    const node = await render({ unexpected: true });
    expect(node.textContent).toBe('This nbdeploy validation output could not be read.');
  });
});

describe('validation charts', () => {
  it('should draw the confusion matrix, ROC curve and calibration of a binary report as SVG', async () => {
    const node = await render(passed);
    const svg = node.querySelector('.jp-nbdeploy-charts svg');
    expect(svg).not.toBeNull();
    const text = svg!.textContent ?? '';
    expect(text).toContain('Confusion matrix');
    expect(text).toContain(`ROC curve (AUC ${passed.metrics.roc_auc!.toFixed(3)})`);
    expect(text).toContain('Calibration');
    // One cell per (true, predicted) pair, with its count.
    const n = passed.details!.confusion_matrix!.labels.length;
    expect(svg!.querySelectorAll('.mark-rect path').length).toBe(n * n);
  });

  it('should leave the charts out of a report without curves or a confusion matrix', async () => {
    const node = await render({ ...passed, details: {} });
    expect(node.querySelector('.jp-nbdeploy-charts')).toBeNull();
  });
});
