import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ReviewRecord, ValidationRecord } from '../../src/registry/registry.js';
import { validationPage } from '../../src/validation/report-page.js';

// Payloads recorded from the real notebook API (extension/test/fixtures/make_payloads.py).
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../extension/test/fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

function record(report: Record<string, unknown>, id = 4): ValidationRecord {
  return { id, model: String(report.model), version: Number(report.version), passed: Boolean(report.passed), report, createdAt: '2026-11-28T18:36:00Z', createdBy: 'alice' };
}

const review = (validationId: number, comment: string): ReviewRecord => ({
  id: 1,
  model: 'cancer',
  version: 3,
  validationId,
  decision: 'request_changes',
  comment,
  createdAt: '2026-11-29T10:00:00Z',
  createdBy: 'bob'
});

describe('validationPage', () => {
  it('should be one page that loads and runs nothing, styled for light, dark and print', async () => {
    const html = await validationPage(record(fixture('validation-failed.json')), []);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    expect(html).toContain('<title>Validation of cancer version 3 — failed</title>');
    expect(html).not.toMatch(/<script|<link|\ssrc=|\shref=/);
    expect(html).toContain('@media (prefers-color-scheme: dark)');
    expect(html).toContain('@media print');
    // The extension's own stylesheet, so the page looks like the panel.
    expect(html).toContain(readFileSync(new URL('../../../style/base.css', import.meta.url), 'utf8'));
    // One SVG with the three charts, coloured by the page's scheme.
    expect(html.match(/<svg /g)).toHaveLength(1);
    expect(html).toContain('ROC curve (AUC 0.874)');
    expect(html).toContain('fill="currentColor"');
  });

  it('should show the stored report with the reviews of that report only', async () => {
    const html = await validationPage(record(fixture('validation-failed.json'), 4), [review(4, 'recall first'), review(2, 'an older report')]);
    expect(html).toContain('Changes requested');
    expect(html).toContain('recall first');
    expect(html).not.toContain('an older report');
    expect(html).toContain('Validation report #4 of cancer version 3, recorded by alice at 2026-11-28 18:36 UTC');
  });

  it('should write every text of the report and its reviews as text', async () => {
    const hostile = '<img src=x onerror=alert(1)>"&';
    const report = fixture('validation-failed.json') as { checklist: Array<{ detail: string }>; details: { confusion_matrix: { labels: string[] } } };
    report.checklist[0]!.detail = hostile;
    report.details.confusion_matrix.labels[0] = hostile;
    const html = await validationPage(record(report as unknown as Record<string, unknown>), [review(4, hostile)]);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;"&amp;');
  });

  it('should leave out the charts of a report without any', async () => {
    const report = fixture('validation-passed.json');
    delete report.details;
    const html = await validationPage(record(report), []);
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('>Charts<');
    expect(html).toContain('<title>Validation of cancer version 1 — passed</title>');
  });
});
