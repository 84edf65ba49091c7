/**
 * Just enough of a document for the extension's report renderer (extension/src/dom.ts:
 * `createElement`, `className`, `title`, `dataset`, `colSpan`, `append`) to run in the
 * service, where there is no DOM, and its elements written out as HTML. Text is escaped
 * as a browser serialises it, so payload text stays text: a model, feature or reviewer's
 * comment reading `<script>` is shown, never run. `raw` markup is only for what the
 * service itself made (the charts' SVG).
 */

/** Elements without content or end tag (none of the report's, but written right if one comes). */
const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\u00a0': '&nbsp;' };
const ATTRIBUTE_ESCAPES: Record<string, string> = { ...TEXT_ESCAPES, '"': '&quot;' };

export function escapeText(text: string): string {
  return text.replace(/[&<>\u00a0]/g, (c) => TEXT_ESCAPES[c]!);
}

export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"\u00a0]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

/** Markup the service made itself, written out as it is. */
export class RawHtml {
  constructor(readonly html: string) {}
}

type Child = HtmlElement | string | RawHtml;

/** An element: a tag, attributes in the order they were set, children. */
export class HtmlElement {
  readonly tagName: string;
  readonly children: Child[] = [];
  /** `data-*` attributes, as `element.dataset` (camelCase keys). */
  readonly dataset: Record<string, string>;

  constructor(tag: string) {
    if (!/^[a-z][a-z0-9]*$/.test(tag)) throw new Error(`not an element name: ${JSON.stringify(tag)}`);
    this.tagName = tag.toUpperCase();
    this.dataset = new Proxy({} as Record<string, string>, {
      set: (target, key, value) => {
        if (typeof key !== 'string' || !/^[a-z][a-zA-Z0-9]*$/.test(key)) throw new Error(`not a data attribute name: ${String(key)}`);
        target[key] = String(value);
        this._attributes.set(`data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(value));
        return true;
      }
    });
  }

  get className(): string {
    return this._attributes.get('class') ?? '';
  }
  set className(value: string) {
    this._attributes.set('class', value);
  }

  get title(): string {
    return this._attributes.get('title') ?? '';
  }
  set title(value: string) {
    this._attributes.set('title', value);
  }

  set colSpan(value: number) {
    this._attributes.set('colspan', String(Math.trunc(value)));
  }

  append(...children: Array<Child | number>): void {
    for (const child of children) this.children.push(typeof child === 'number' ? String(child) : child);
  }

  /** The first element below this one (depth first) with class `name`. */
  findByClass(name: string): HtmlElement | null {
    for (const child of this.children) {
      if (!(child instanceof HtmlElement)) continue;
      if (child.className.split(/\s+/).includes(name)) return child;
      const found = child.findByClass(name);
      if (found) return found;
    }
    return null;
  }

  get outerHTML(): string {
    const tag = this.tagName.toLowerCase();
    const attributes = [...this._attributes].map(([name, value]) => ` ${name}="${escapeAttribute(value)}"`).join('');
    if (VOID_ELEMENTS.has(tag)) return `<${tag}${attributes}>`;
    const inner = this.children
      .map((child) => (child instanceof HtmlElement ? child.outerHTML : child instanceof RawHtml ? child.html : escapeText(child)))
      .join('');
    return `<${tag}${attributes}>${inner}</${tag}>`;
  }

  private readonly _attributes = new Map<string, string>();
}

/** The document the renderer is given: it only ever asks it for elements. */
export const htmlDocument = {
  createElement: (tag: string): HtmlElement => new HtmlElement(tag)
};
