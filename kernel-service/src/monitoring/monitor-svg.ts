/**
 * The monitor chart as a static SVG, drawn in the service by vega's headless renderer
 * (no canvas, no browser): the fallback image of `nd.monitor` outputs, for viewers without
 * the extension. The spec has its data inline and loads nothing.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** Loads nothing: a monitor spec has all its data inline, and a spec naming a URL must not fetch it. */
const NO_LOADER = {
  load: () => Promise.reject(new Error('the monitor chart loads no external data')),
  sanitize: () => Promise.reject(new Error('the monitor chart loads no external data')),
  http: () => Promise.reject(new Error('the monitor chart loads no external data')),
  file: () => Promise.reject(new Error('the monitor chart loads no external data'))
};

/** Renders a Vega-Lite spec (with its datasets inline) to SVG text. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: NO_LOADER as unknown as vega.Loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
