import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

/** The output model JupyterLab hands a renderer: one MIME bundle. */
export function mimeModel(mimeType: string, payload: unknown): IRenderMime.IMimeModel {
  return {
    trusted: false,
    data: { [mimeType]: payload as IRenderMime.IMimeModel['data'][string] },
    metadata: {},
    setData: () => undefined
  };
}

/** The text of each row of a table (cells joined by ' | '), whitespace collapsed. */
export function rowsOf(table: Element | null): string[] {
  if (!table) {
    throw new Error('no such table');
  }
  return [...table.querySelectorAll('tbody tr')].map(row =>
    [...row.children].map(cell => (cell.textContent ?? '').replace(/\s+/g, ' ').trim()).join(' | ').trim()
  );
}

/** The options JupyterLab hands a renderer factory for one MIME type (no sanitizing, links or maths in these tests). */
export function rendererOptions(mimeType: string): IRenderMime.IRendererOptions {
  return { mimeType, sanitizer: { sanitize: (html: string) => html }, resolver: null, linkHandler: null, latexTypesetter: null };
}
