/**
 * vega's SVG drawn the same in fewer bytes: what the monitor chart's still image
 * (monitor-svg.ts) is made of. First passes over the text (coordinates to a tenth of a pixel,
 * no ARIA or pointer events, no paths that draw nothing, axis lines as one path), then passes
 * over the element tree: vega's three groups per mark or guide (a group, its transform, its
 * content) as one or none, the class names no still image reads (those of the data marks
 * stay: `mark-line role-mark`), non-overlapping rects of one colour as one path, path data
 * in its shortest exact form, what every child of a group shares said once on the group,
 * what an element inherits or SVG assumes not said again, and equal clip paths as one.
 */

/** Attributes that hold coordinates. */
const GEOMETRY = /\s(d|transform|x|y|x1|y1|x2|y2|width|height)="([^"]*)"/g;
const DECIMAL = /-?\d*\.\d+(?:e-?\d+)?/g;
/** Inherited presentation attributes: said on a group, they hold for its children. */
const INHERITED = new Set(['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'font-size', 'font-weight', 'font-style', 'text-anchor']);
/** A group of marks with no group inside. */
const LEAF_GROUP = /(<g class="mark-[^"]*"[^>]*)>((?:(?!<g[\s>]|<\/g>).)*)<\/g>/g;
const tenth = (n: string): string => String(Math.round(Number(n) * 10) / 10);

/**
 * vega's SVG drawn the same in fewer bytes: coordinates to a tenth of a pixel; no ARIA or
 * pointer-event attributes (a static image); no paths that draw nothing (vega's unfilled
 * group backgrounds and foregrounds), no `opacity="1"` (the default), no text hidden by
 * `labelOverlap` (opacity 0); axis ticks and grid lines of a group as one path; vega's
 * circle symbols as circles; the font family once on the root; then the element tree made
 * small (`compactTree`).
 */
export function compactSvg(svg: string): string {
  let out = svg.replace(GEOMETRY, (_, name: string, value: string) => ` ${name}="${value.replace(DECIMAL, tenth)}"`);
  out = out.replace(/ (?:role|aria-[\w-]+|pointer-events)="[^"]*"/g, '');
  out = out.replace(/<path class="(?:background|foreground)" d="[^"]*"(?: display="none")?\/>/g, '');
  out = out.replace(/ opacity="1"/g, '');
  out = out.replace(/<text\b[^>]*\sopacity="0"[^>]*>[^<]*<\/text>/g, '');
  out = out.replace(
    /<path transform="translate\(([-\d.]+),([-\d.]+)\)" d="M([\d.]+),0A\3,\3,0,1,1,-\3,0A\3,\3,0,1,1,\3,0"/g,
    '<circle cx="$1" cy="$2" r="$3"'
  );
  out = out.replace(LEAF_GROUP, (group: string, open: string, body: string) => {
    const rules = open.includes('role-axis') ? linesAsPath(body) : null;
    return rules !== null ? `${open}>${rules}</g>` : group;
  });
  const families = new Map<string, number>();
  for (const m of out.matchAll(/ font-family="([^"]*)"/g)) families.set(m[1]!, (families.get(m[1]!) ?? 0) + 1);
  const common = [...families].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (common !== undefined) {
    out = out.split(` font-family="${common}"`).join('');
    out = out.replace(/^<svg\b/, `<svg font-family="${common}"`);
  }
  const root = parseSvg(out);
  // Only SVG this parser reads back exactly (vega's) is rewritten as a tree.
  if (root === null || serialize(root) !== out) return out;
  compactTree(root);
  withoutInherited(root, SVG_DEFAULTS);
  sharedClipPaths(root);
  return serialize(root);
}

/** Clip paths alike (vega writes one per mark, most of them the plot's rect) as one, named by every mark they clip. */
function sharedClipPaths(root: SvgElement): void {
  const defs = root.children.find((c): c is SvgElement => isElement(c) && c.name === 'defs');
  if (!defs) return;
  const first = new Map<string, string>();
  const renamed = new Map<string, string>();
  defs.children = defs.children.filter((clip) => {
    if (!isElement(clip) || clip.name !== 'clipPath' || !clip.attrs.has('id')) return true;
    const id = clip.attrs.get('id')!;
    const shape = serialize({ ...clip, attrs: new Map([...clip.attrs].filter(([name]) => name !== 'id')) });
    const same = first.get(shape);
    if (same === undefined) first.set(shape, id);
    else renamed.set(`url(#${id})`, `url(#${same})`);
    return same === undefined;
  });
  const rename = (element: SvgElement): void => {
    const clip = renamed.get(element.attrs.get('clip-path') ?? '');
    if (clip !== undefined) element.attrs.set('clip-path', clip);
    for (const child of element.children) if (isElement(child)) rename(child);
  };
  if (renamed.size > 0) rename(root);
}

/** An axis group's lines (`<line transform="translate(x,y)" x2 y2 …/>`, all styled alike) as one path; null otherwise. */
function linesAsPath(body: string): string | null {
  const lines = [...body.matchAll(/<line transform="translate\(([-\d.]+),([-\d.]+)\)" x2="([-\d.]+)" y2="([-\d.]+)"((?: [\w-]+="[^"]*")*)\/>/g)];
  if (lines.length < 2 || lines.map((l) => l[0]).join('') !== body || new Set(lines.map((l) => l[5])).size !== 1) return null;
  return `<path d="${lines.map(([, x, y, dx, dy]) => `M${x},${y}l${dx},${dy}`).join('')}"${lines[0]![5]}/>`;
}

/** An element of the SVG tree; text as strings. */
interface SvgElement {
  name: string;
  attrs: Map<string, string>;
  children: SvgNode[];
  /** Written `<name/>` (else `<name></name>` when empty). */
  selfClosing: boolean;
}
type SvgNode = SvgElement | string;

const isElement = (node: SvgNode): node is SvgElement => typeof node !== 'string';

/** vega's SVG as a tree: elements with double-quoted attributes, and text. Null for anything else. */
function parseSvg(svg: string): SvgElement | null {
  const top: SvgElement = { name: '', attrs: new Map(), children: [], selfClosing: false };
  const stack = [top];
  for (const m of svg.matchAll(/<(\/?)([\w:-]+)((?: [\w:-]+="[^"]*")*)(\/?)>|[^<]+/g)) {
    const parent = stack.at(-1)!;
    if (m[2] === undefined) parent.children.push(m[0]);
    else if (m[1]) {
      if (stack.length < 2 || parent.name !== m[2]) return null;
      stack.pop();
    } else {
      const element: SvgElement = { name: m[2], attrs: new Map([...m[3]!.matchAll(/ ([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])), children: [], selfClosing: m[4] === '/' };
      parent.children.push(element);
      if (!element.selfClosing) stack.push(element);
    }
  }
  const root = top.children[0];
  return stack.length === 1 && top.children.length === 1 && root !== undefined && isElement(root) && root.name === 'svg' ? root : null;
}

function serialize(node: SvgNode): string {
  if (!isElement(node)) return node;
  const attrs = [...node.attrs].map(([name, value]) => ` ${name}="${value}"`).join('');
  if (node.children.length === 0 && node.selfClosing) return `<${node.name}${attrs}/>`;
  return `<${node.name}${attrs}>${node.children.map(serialize).join('')}</${node.name}>`;
}

/** The tree passes, children first. */
function compactTree(element: SvgElement): void {
  for (const child of element.children) if (isElement(child)) compactTree(child);
  const className = element.attrs.get('class');
  if (className !== undefined) {
    // The data marks keep what they are (`mark-line role-mark`), for people and tools reading the image.
    const mark = /^(mark-\w+ role-mark)\b/.exec(className);
    if (mark) element.attrs.set('class', mark[1]!);
    else element.attrs.delete('class');
  }
  if (element.attrs.get('transform') === 'translate(0,0)') element.attrs.delete('transform');
  if (element.name === 'text' || element.name === 'line') placedWithoutTransform(element);
  // Coordinates that are 0 when left out.
  if (element.name === 'text' || element.name === 'line' || element.name === 'rect') {
    for (const name of ['x', 'y', 'x1', 'y1', 'x2', 'y2']) if (element.attrs.get(name) === '0') element.attrs.delete(name);
  }
  if (element.name === 'g') mergeRects(element);
  for (const child of element.children) {
    if (isElement(child) && child.name === 'path' && child.attrs.has('d')) {
      child.attrs.set('d', compactPath(child.attrs.get('d')!, child.attrs.has('stroke-linecap') || element.attrs.has('stroke-linecap')));
    }
  }
  element.children = element.children.flatMap(flattened);
  hoistShared(element);
}

/** A child as its parent keeps it: a group without attributes as its children, an empty group as nothing, a group holding one group as one. */
function flattened(node: SvgNode): SvgNode[] {
  if (!isElement(node) || node.name !== 'g') return [node];
  if (node.children.length === 0) return [];
  if (node.attrs.size === 0) return node.children;
  const only = node.children.length === 1 ? node.children[0]! : null;
  if (only !== null && isElement(only)) {
    if (only.name === 'g') {
      const merged = mergedGroups(node, only);
      if (merged) return flattened(merged);
    } else if ([...node.attrs.keys()].every((name) => INHERITED.has(name) && !only.attrs.has(name))) {
      // Inherited attributes of a group of one element are that element's.
      for (const [name, value] of node.attrs) only.attrs.set(name, value);
      return [only];
    }
  }
  return [node];
}

const TRANSLATE = /^translate\((-?[\d.]+),(-?[\d.]+)\)$/;

/**
 * A text or line moved by a translation alone placed by its own coordinates instead (which
 * are 0 when left out): `<text transform="translate(7,83)">` is `<text x="7" y="83">`, and
 * `<line transform="translate(0,80)" x2="0" y2="-80">` is `<line y1="80">`.
 */
function placedWithoutTransform(element: SvgElement): void {
  const move = TRANSLATE.exec(element.attrs.get('transform') ?? '');
  const [x, y] = element.name === 'text' ? ['x', 'y'] : ['x1', 'y1'];
  if (!move || element.attrs.has(x) || element.attrs.has(y) || element.attrs.has('dx') || element.attrs.has('dy')) return;
  const tenths = (value: string | undefined) => Math.round(Number(value ?? 0) * 10);
  const coordinates: Array<[string, number]> = [
    [x, tenths(move[1])],
    [y, tenths(move[2])]
  ];
  if (element.name === 'line') coordinates.push(['x2', tenths(move[1]) + tenths(element.attrs.get('x2'))], ['y2', tenths(move[2]) + tenths(element.attrs.get('y2'))]);
  const attrs = new Map<string, string>();
  for (const [name, value] of element.attrs) {
    if (name === 'transform') for (const [coordinate, at] of coordinates) at !== 0 && attrs.set(coordinate, String(at / 10));
    else if (name !== 'x2' && name !== 'y2') attrs.set(name, value);
  }
  element.attrs = attrs;
}

/** What SVG draws with when an attribute is said nowhere (those vega writes out anyway). */
const SVG_DEFAULTS = new Map([
  ['stroke', 'none'],
  ['stroke-width', '1'],
  ['stroke-opacity', '1'],
  ['fill-opacity', '1'],
  ['stroke-dasharray', 'none'],
  ['font-weight', 'normal'],
  ['font-style', 'normal'],
  ['text-anchor', 'start']
]);
/** Shapes that draw their fill and stroke (not inside a clip path, where they are its outline). */
const SHAPES = new Set(['path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon']);

/**
 * Children first-to-last, top down: inherited attributes said again with the value they
 * inherit left out (`stroke-width="1"` where no group says otherwise, `text-anchor="start"`),
 * and shapes that draw nothing (no fill, no stroke: vega's empty legend-entry backgrounds)
 * with them; groups left empty or bare by that go too.
 */
function withoutInherited(element: SvgElement, inherited: ReadonlyMap<string, string>): void {
  if (element.name === 'defs' || element.name === 'clipPath') return;
  const here = new Map(inherited);
  for (const [name, value] of [...element.attrs]) {
    if (!INHERITED.has(name)) continue;
    if (inherited.get(name) === value) element.attrs.delete(name);
    else here.set(name, value);
  }
  for (const child of element.children) if (isElement(child)) withoutInherited(child, here);
  element.children = element.children
    .filter((child) => {
      if (!isElement(child) || !SHAPES.has(child.name) || child.children.length > 0) return true;
      const paint = (name: string) => child.attrs.get(name) ?? here.get(name);
      return !((child.name === 'line' || paint('fill') === 'none') && (paint('stroke') ?? 'none') === 'none');
    })
    .flatMap(flattened);
}

/**
 * A group and the one group it holds as one group, when that draws the same: no attribute
 * said on both (but translations, which add up), and no transform inside a clip (a clip
 * path is read in the coordinates of the element that names it).
 */
function mergedGroups(outer: SvgElement, inner: SvgElement): SvgElement | null {
  if (inner.attrs.has('transform') && outer.attrs.has('clip-path')) return null;
  const attrs = new Map(outer.attrs);
  for (const [name, value] of inner.attrs) {
    if (!attrs.has(name)) attrs.set(name, value);
    else if (name === 'transform') {
      const a = TRANSLATE.exec(attrs.get(name)!);
      const b = TRANSLATE.exec(value);
      if (!a || !b) return null;
      const sum = (x: string, y: string) => (Math.round(Number(x) * 10) + Math.round(Number(y) * 10)) / 10;
      attrs.set(name, `translate(${sum(a[1]!, b[1]!)},${sum(a[2]!, b[2]!)})`);
      if (attrs.get(name) === 'translate(0,0)') attrs.delete(name);
    } else return null;
  }
  return { name: 'g', attrs, children: inner.children, selfClosing: false };
}

/** The inherited attributes every element child of `element` has alike, said once on it. */
function hoistShared(element: SvgElement): void {
  const elements = element.children.filter(isElement);
  if (elements.length < 2 || elements.length !== element.children.length) return;
  for (const [name, value] of elements[0]!.attrs) {
    if (!INHERITED.has(name) || !elements.every((e) => e.attrs.get(name) === value)) continue;
    for (const e of elements) e.attrs.delete(name);
    element.attrs.set(name, value);
  }
}

const RECT = /^M(-?[\d.]+),(-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)h(-?[\d.]+)Z$/;

/**
 * A group of rects only (vega's `M x,y h w v h h -w Z` paths), none overlapping another:
 * the rects of one style as one path, drawn where the first of them was. Without overlaps
 * the order they are painted in changes nothing.
 */
function mergeRects(group: SvgElement): void {
  const rects: Array<{ path: SvgElement; x0: number; x1: number; y0: number; y1: number }> = [];
  for (const child of group.children) {
    const m = isElement(child) && child.name === 'path' ? RECT.exec(child.attrs.get('d') ?? '') : null;
    if (!m || Number(m[5]) !== -Number(m[3])) return;
    const [x, y, w, h] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    rects.push({ path: child as SvgElement, x0: Math.min(x, x + w), x1: Math.max(x, x + w), y0: Math.min(y, y + h), y1: Math.max(y, y + h) });
  }
  if (rects.length < 2) return;
  const sorted = [...rects].sort((a, b) => a.x0 - b.x0);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && sorted[j]!.x0 < sorted[i]!.x1; j++) {
      if (sorted[j]!.y0 < sorted[i]!.y1 && sorted[i]!.y0 < sorted[j]!.y1) return; // they overlap
    }
  }
  const styleOf = (path: SvgElement) => [...path.attrs].filter(([name]) => name !== 'd').map(([n, v]) => `${n}=${v}`).join(' ');
  const first = new Map<string, SvgElement>();
  group.children = group.children.filter((child) => {
    const path = child as SvgElement;
    const style = styleOf(path);
    const into = first.get(style);
    if (!into) {
      first.set(style, path);
      return true;
    }
    into.attrs.set('d', into.attrs.get('d')! + path.attrs.get('d')!);
    return false;
  });
}

/**
 * Path data in its shortest exact form: each segment absolute or relative, whichever is
 * shorter (coordinates are in tenths of a pixel, so relative ones are exact), lines along an
 * axis as `h`/`v`, runs of them in one direction as one, segments of no length left out (they
 * draw nothing without round or square caps: `keepEmpty`), no leading zeros, no comma before
 * a minus. Paths with commands other than M, L, H, V, C and Z stay as they are.
 */
export function compactPath(d: string, keepEmpty = false): string {
  const tokens = d.match(/[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?/g) ?? [];
  if (tokens.join('').length !== d.replace(/[\s,]/g, '').length || tokens.some((t) => /^[A-BD-GI-KN-UW-Ya-bd-gi-kn-uw-y]$/.test(t))) return d;
  type Segment = { command: 'M' | 'L' | 'C' | 'Z'; points: number[] };
  const segments: Segment[] = [];
  let [x, y, startX, startY] = [0, 0, 0, 0];
  let i = 0;
  let command = '';
  const next = (): number => Math.round(Number(tokens[i++]) * 10);
  while (i < tokens.length) {
    if (/^[A-Za-z]$/.test(tokens[i]!)) command = tokens[i++]!;
    else if (command === '' || command === 'Z' || command === 'z') return d;
    const relative = command === command.toLowerCase();
    const [dx, dy] = relative ? [x, y] : [0, 0];
    switch (command.toUpperCase()) {
      case 'M':
        [x, y] = [next() + dx, next() + dy];
        [startX, startY] = [x, y];
        segments.push({ command: 'M', points: [x, y] });
        command = relative ? 'l' : 'L'; // further pairs are lines
        break;
      case 'L':
        [x, y] = [next() + dx, next() + dy];
        segments.push({ command: 'L', points: [x, y] });
        break;
      case 'H':
        x = next() + dx;
        segments.push({ command: 'L', points: [x, y] });
        break;
      case 'V':
        y = next() + dy;
        segments.push({ command: 'L', points: [x, y] });
        break;
      case 'C': {
        const points = [next() + dx, next() + dy, next() + dx, next() + dy, next() + dx, next() + dy];
        [x, y] = [points[4]!, points[5]!];
        segments.push({ command: 'C', points });
        break;
      }
      case 'Z':
        [x, y] = [startX, startY];
        segments.push({ command: 'Z', points: [] });
        break;
    }
    if (i > tokens.length) return d; // a command short of numbers
  }
  return writePath(segments, keepEmpty);
}

function writePath(segments: Array<{ command: 'M' | 'L' | 'C' | 'Z'; points: number[] }>, keepEmpty: boolean): string {
  const number = (tenths: number): string => String(tenths / 10).replace(/^(-?)0\./, '$1.');
  const numbers = (values: number[]): string => values.map((v, k) => (k > 0 && v >= 0 ? ',' : '') + number(v)).join('');
  let out = '';
  let [x, y, startX, startY] = [0, 0, 0, 0];
  // The last line written along an axis, to extend while the next one goes on in its direction.
  let run: { axis: 'h' | 'v'; sign: number; from: number; start: number; to: number } | null = null;
  const flush = () => {
    if (!run) return;
    const relative = run.axis + number(run.to - run.from);
    const absolute = run.axis.toUpperCase() + number(run.to);
    out = out.slice(0, run.start) + (relative.length <= absolute.length ? relative : absolute);
    run = null;
  };
  const shortest = (absolute: string, relative: string) => (relative.length <= absolute.length ? relative : absolute);
  for (const { command, points } of segments) {
    if (command === 'L') {
      const [toX, toY] = points as [number, number];
      if (toX === x && toY === y && !keepEmpty) continue;
      const axis = toY === y ? 'h' : toX === x ? 'v' : null;
      if (axis) {
        const [from, to] = axis === 'h' ? [x, toX] : [y, toY];
        const sign = Math.sign(to - from);
        if (run && run.axis === axis && run.sign === sign && sign !== 0) {
          run.to = to;
        } else {
          flush();
          run = { axis, sign, from, start: out.length, to };
          out += ' '; // written by flush
        }
      } else {
        flush();
        out += shortest(`L${numbers([toX, toY])}`, `l${numbers([toX - x, toY - y])}`);
      }
      [x, y] = [toX, toY];
      continue;
    }
    flush();
    if (command === 'M') {
      const [toX, toY] = points as [number, number];
      out += out === '' ? `M${numbers([toX, toY])}` : shortest(`M${numbers([toX, toY])}`, `m${numbers([toX - x, toY - y])}`);
      [x, y, startX, startY] = [toX, toY, toX, toY];
    } else if (command === 'C') {
      const relative = points.map((p, k) => p - (k % 2 === 0 ? x : y));
      out += shortest(`C${numbers(points)}`, `c${numbers(relative)}`);
      [x, y] = [points[4]!, points[5]!];
    } else {
      out += 'Z';
      [x, y] = [startX, startY];
    }
  }
  flush();
  return out;
}
