/**
 * Small DOM helpers the renderers share. Payload text only ever becomes text nodes
 * (never HTML), which is what lets the renderers declare themselves safe for untrusted
 * notebooks.
 *
 * Elements come from the page's document, or from another one given to
 * {@link withDocument}: the service builds a validation report's standalone page with
 * these helpers in Node, where there is no DOM (kernel-service/src/validation/).
 */

/** What the helpers need of a document. */
export type ElementFactory = Pick<Document, 'createElement'>;

let elementFactory: ElementFactory | null = null;

/** Runs `render` with elements made by `factory` instead of the page's document. */
export function withDocument<T>(factory: ElementFactory, render: () => T): T {
  const previous = elementFactory;
  elementFactory = factory;
  try {
    return render();
  } finally {
    elementFactory = previous;
  }
}

/** Whether a child or cell is an element rather than text (no `instanceof`: the document may not be the page's). */
function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}

function isTableCell(value: unknown): value is HTMLTableCellElement {
  return isNode(value) && ((value as Element).tagName === 'TD' || (value as Element).tagName === 'TH');
}

/** A child of {@link h}: nodes and text; null, undefined and false are skipped. */
export type Child = Node | string | number | null | undefined | false;

export interface IElementProps {
  className?: string;
  title?: string;
  /** `data-*` attributes, which tests and styles select by. */
  dataset?: Record<string, string>;
}

/** Creates an element with the given class, title, data attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IElementProps = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = (elementFactory ?? document).createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.title) {
    node.title = props.title;
  }
  for (const [key, value] of Object.entries(props.dataset ?? {})) {
    node.dataset[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(isNode(child) ? child : String(child));
  }
  return node;
}

/**
 * A metric value with four decimals, as the text/html fallback shows them (JSON keeps no
 * difference between 1 and 1.0, so a perfect score still reads 1.0000); `—` when absent.
 */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '—';
  }
  return value.toFixed(digits);
}

/** A share (0–1) as a percentage with one decimal. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** A percentage as given (`10`, `12.5`), with no trailing zeros. */
export function formatPercent(percent: number): string {
  return `${Number(percent.toFixed(2))}%`;
}

/** A p-value: fixed for readable values, scientific below 0.0001. */
export function formatPValue(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/**
 * A timestamp as `2026-11-28 18:36 UTC` (UTC, so that every reader of a shared notebook
 * sees the same); anything that is not a date is shown as given.
 */
export function formatTime(value: string): string {
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A titled section of a rendered output. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { className: 'jp-nbdeploy-section' }, h('h4', { className: 'jp-nbdeploy-sectionTitle' }, title), ...children);
}

/** A row of a {@link table}: its cells, and an optional class for the row. */
export interface IRow {
  cells: Child[];
  className?: string;
}

/** The class of a text column's cells (left-aligned, wrapping), header included. */
export const TEXT_COLUMN = 'jp-nbdeploy-text';

/**
 * A table: the first column is a label, the others numbers (right-aligned). A header or
 * cell given as an element keeps its own class, e.g. {@link TEXT_COLUMN} for a text column.
 */
export function table(header: (string | HTMLTableCellElement)[], rows: (Child[] | IRow)[], className = ''): HTMLTableElement {
  const head = h('thead', {}, h('tr', {}, ...header.map(cell => (isTableCell(cell) ? cell : h('th', {}, cell)))));
  const body = h(
    'tbody',
    {},
    ...rows.map(row => {
      const { cells, className: rowClass } = Array.isArray(row) ? { cells: row, className: undefined } : row;
      return h('tr', { className: rowClass }, ...cells.map(cell => (isTableCell(cell) ? cell : h('td', {}, cell))));
    })
  );
  return h('table', { className: `jp-nbdeploy-table ${className}`.trim() }, head, body);
}

/** A header cell of a text column. */
export function textHeader(text: string): HTMLTableCellElement {
  return h('th', { className: TEXT_COLUMN }, text);
}

/** A cell of a text column. */
export function textCell(...children: Child[]): HTMLTableCellElement {
  return h('td', { className: TEXT_COLUMN }, ...children);
}

/** A cell of a text column, in the muted colour of explanations. */
export function detailCell(text: string): HTMLTableCellElement {
  return h('td', { className: `${TEXT_COLUMN} jp-nbdeploy-detail` }, text);
}

/** A pass / fail / n-a / missing mark: a word and a symbol, so colour is never the only cue. */
export function statusBadge(status: string): HTMLElement {
  const symbol: Record<string, string> = { pass: '✓', fail: '✗', 'n/a': '–', missing: '!' };
  const modifier = status === 'n/a' ? 'na' : status;
  return h(
    'span',
    { className: `jp-nbdeploy-badge jp-mod-${modifier}`, dataset: { status } },
    `${symbol[status] ?? '?'} ${status}`
  );
}
