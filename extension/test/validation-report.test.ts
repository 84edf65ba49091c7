import { describe, expect, it } from 'vitest';

import { htmlDocument } from '../../kernel-service/src/validation/html-document.js';
import { withDocument } from '../src/dom.js';
import type { IValidationReport } from '../src/payloads.js';
import { renderReport } from '../src/validation-report.js';
import failedPayload from './fixtures/validation-failed.json';

// Recorded from the real notebook API (fixtures/make_payloads.py): every section, reviews included.
const failed = failedPayload as IValidationReport;

/** The report's sections made with the service's document, read back by the browser's parser. */
function parsedFromService(report: IValidationReport): Node[] {
  const sections = withDocument(htmlDocument as unknown as Pick<Document, 'createElement'>, () => renderReport(report));
  const template = document.createElement('template');
  template.innerHTML = sections.map(section => (section as unknown as { outerHTML: string }).outerHTML).join('');
  return [...template.content.childNodes];
}

describe('renderReport', () => {
  it('should make the same elements with the service’s document as with the browser’s (the standalone page is the panel)', () => {
    const hostile = '<script>alert(1)</script> & "quotes"';
    const report: IValidationReport = {
      ...failed,
      slices: [...(failed.slices ?? []), { slice: hostile, rows: 3, metrics: null }],
      reviews: [{ id: 9, decision: 'request_changes', comment: hostile, by: hostile, at: '2026-11-29T10:00:00Z' }]
    };
    const inBrowser = renderReport(report);
    // Adjacent text nodes are one once written out and read back.
    inBrowser.forEach(node => node.normalize());
    const fromService = parsedFromService(report);
    expect(fromService).toHaveLength(inBrowser.length);
    inBrowser.forEach((node, i) => expect(fromService[i]!.isEqualNode(node), (node as HTMLElement).className).toBe(true));
    const text = fromService.map(node => node.textContent).join('');
    expect(text).toContain(`${hostile}`);
    expect(fromService.some(node => (node as Element).querySelector?.('script'))).toBe(false);
  });

  it('should still use the page’s document outside withDocument', () => {
    withDocument(htmlDocument as unknown as Pick<Document, 'createElement'>, () => renderReport(failed));
    expect(renderReport(failed)[0]).toBeInstanceOf(HTMLElement);
  });
});
