/**
 * A Vega-Lite chart in a renderer: vega-embed loaded on first use (so the extension's main
 * bundle stays small), drawn as SVG with the colours and font of the JupyterLab theme, its
 * named datasets and parameters swapped in place on updates (no re-draw, no flicker), and
 * re-drawn when the theme changes. Safe for untrusted payloads: no actions menu, and a
 * loader that fetches nothing (a spec naming a URL gets no data).
 */

import type { IDisposable } from '@lumino/disposable';
import type { Result as EmbedResult } from 'vega-embed';

type Spec = Record<string, unknown>;
type Embed = typeof import('vega-embed');

let embedModule: Promise<Embed> | null = null;

/** vega-embed, imported once and only when a chart is first drawn. */
export function loadVegaEmbed(): Promise<Embed> {
  return (embedModule ??= import('vega-embed'));
}

const REFUSED = (): Promise<never> => Promise.reject(new Error('nbdeploy charts load no external data'));

/** A vega loader that loads nothing: every dataset a chart shows is inline. */
const NO_LOADER = { load: REFUSED, sanitize: REFUSED, http: REFUSED, file: REFUSED, options: {} };

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/**
 * The chart config of the current JupyterLab theme (its CSS variables): text, axes, grid
 * and font. Applied over the spec's own config.
 */
export function themeConfig(): Spec {
  const text = cssVar('--jp-ui-font-color1', '#616161');
  const muted = cssVar('--jp-ui-font-color2', '#757575');
  const strong = cssVar('--jp-ui-font-color0', '#212121');
  const border = cssVar('--jp-border-color1', '#bdbdbd');
  const grid = cssVar('--jp-border-color2', '#e0e0e0');
  const font = cssVar('--jp-ui-font-family', 'system-ui, sans-serif');
  return {
    font,
    background: null,
    axis: { labelColor: muted, titleColor: text, domainColor: border, tickColor: border, gridColor: grid },
    legend: { labelColor: muted, titleColor: text },
    title: { color: strong, subtitleColor: muted },
    style: { 'guide-label': { fill: muted }, 'guide-title': { fill: text } }
  };
}

/** The spec's config with `over` applied on top, one level deep (axis, legend, …). */
export function mergeConfig(config: Spec | undefined, over: Spec): Spec {
  const merged: Spec = { ...(config ?? {}) };
  for (const [key, value] of Object.entries(over)) {
    const base = merged[key];
    merged[key] =
      value && typeof value === 'object' && !Array.isArray(value) && base && typeof base === 'object' && !Array.isArray(base)
        ? { ...(base as Spec), ...(value as Spec) }
        : value;
  }
  return merged;
}

/** Calls `onChange` when JupyterLab switches theme (light / dark, or another theme). */
export function watchTheme(onChange: () => void): IDisposable {
  let disposed = false;
  const observer = new MutationObserver(() => onChange());
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
      observer.disconnect();
    }
  };
}

/** A chart's data: named datasets and parameter values. */
export interface IChartData {
  datasets: Record<string, unknown[]>;
  params: Record<string, unknown>;
}

/** A change to one dataset of a drawn chart: the rows to take out, the rows to add. */
export interface IDatasetChange {
  remove: (row: Record<string, unknown>) => boolean;
  insert: unknown[];
}

/** A mark of a drawn chart that was clicked: its vega mark's name and its data row. */
export interface IClickedItem {
  mark?: { name?: string };
  datum?: Record<string, unknown>;
}

export interface IVegaViewOptions {
  /** Called on each click on the chart, with the mark clicked (null: none). */
  onClick?: (item: IClickedItem | null) => void;
}

/** One chart in `host`: drawn, updated in place, re-drawn on theme changes, finalized on dispose. */
export class VegaView implements IDisposable {
  constructor(
    private readonly _host: HTMLElement,
    private readonly _options: IVegaViewOptions = {}
  ) {
    this._theme = watchTheme(() => {
      if (this._spec && this._data) {
        void this.draw(this._spec, this._data).catch(() => undefined);
      }
    });
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The vega view, once drawn (for tests and updates). */
  get view(): EmbedResult['view'] | null {
    return this._result?.view ?? null;
  }

  /** Draws the spec afresh (into a new element, swapped in when ready). */
  async draw(spec: Spec, data: IChartData): Promise<void> {
    this._spec = spec;
    this._data = data;
    const { default: embed } = await loadVegaEmbed();
    if (this._disposed) {
      return;
    }
    const target = document.createElement('div');
    target.className = 'jp-nbdeploy-vega';
    const full = {
      ...spec,
      datasets: data.datasets,
      params: ((spec.params as Array<{ name: string; value?: unknown }> | undefined) ?? []).map(p =>
        p.name in data.params ? { ...p, value: data.params[p.name] } : p
      ),
      config: mergeConfig(spec.config as Spec | undefined, themeConfig())
    };
    const generation = ++this._generation;
    const result = await embed(target, full as never, {
      renderer: 'svg',
      actions: false,
      loader: NO_LOADER as never,
      tooltip: true,
      logLevel: 0
    });
    if (this._disposed || generation !== this._generation) {
      result.finalize();
      return;
    }
    const onClick = this._options.onClick;
    if (onClick) {
      result.view.addEventListener('click', (_event, item) => onClick((item as IClickedItem | null | undefined) ?? null));
    }
    this._result?.finalize();
    this._result = result;
    this._host.replaceChildren(target);
  }

  /**
   * Swaps datasets and parameter values in the drawn chart (same spec): `data` is the whole
   * new data (kept for re-draws); a dataset named in `changes` is changed by those rows only
   * (a vega changeset), the others are replaced.
   */
  async update(data: IChartData, changes: Record<string, IDatasetChange> = {}): Promise<void> {
    this._data = data;
    const view = this._result?.view;
    if (!view) {
      return;
    }
    const { vega } = await loadVegaEmbed();
    for (const [name, values] of Object.entries(data.datasets)) {
      try {
        view.data(name);
      } catch {
        continue; // a dataset no panel of this spec reads
      }
      const change = changes[name];
      view.change(name, change ? vega.changeset().remove(change.remove).insert(change.insert) : vega.changeset().remove(() => true).insert(values));
    }
    for (const [name, value] of Object.entries(data.params)) {
      try {
        view.signal(name, value);
      } catch {
        // a parameter this spec does not declare
      }
    }
    await view.runAsync();
  }

  /** Sets one parameter of the drawn chart (kept for re-draws); a parameter the spec does not declare is left alone. */
  async setParam(name: string, value: unknown): Promise<void> {
    if (this._data) {
      this._data = { ...this._data, params: { ...this._data.params, [name]: value } };
    }
    const view = this._result?.view;
    if (!view) {
      return;
    }
    try {
      view.signal(name, value);
    } catch {
      return; // a chart drawn from a spec without it (an older snapshot)
    }
    await view.runAsync();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._theme.dispose();
    this._result?.finalize();
    this._result = null;
  }

  private _disposed = false;
  private _generation = 0;
  private _result: EmbedResult | null = null;
  private _spec: Spec | null = null;
  private _data: IChartData | null = null;
  private readonly _theme: IDisposable;
}
