/**
 * One click from a drifted chart cell to the cause: a click on a drifted cell of the monitor
 * chart's drift heat map, or on a bar of its integrity panel, inserts a cell below the chart's
 * cell that calls `nd.inspect` for that model, feature and bucket — in the kernel's language —
 * and runs it. Only in a notebook with a kernel: elsewhere (a shared notebook opened without
 * one, an output view, no notebook tracker) the marks are not clickable and a click does
 * nothing. The service's spec names the clickable layers and reads the `inspectable`
 * parameter (kernel-service/src/monitoring/monitor-chart.ts, `INSPECTABLE_LAYERS`).
 */

import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

/** The vega mark names of the clickable layers (vega names a layer's marks `<name>_marks`). */
export const INSPECTABLE_MARKS = { drift: 'drift_cells_marks', integrity: 'integrity_bars_marks' } as const;

/** The chart's parameter that makes the clickable marks look so (pointer, tooltip heading). */
export const INSPECTABLE_PARAM = 'inspectable';

/** The notebook languages with an `nd.inspect`: Python (`import nbdeploy as nd`) and TypeScript (`import * as nd from "nbdeploy/notebook"`). */
export type InspectLanguage = 'python' | 'typescript';

/** What a click asks to inspect: a model's feature (none: every feature) over [start, end). */
export interface IInspectRequest {
  model: string;
  feature: string | null;
  /** ISO 8601 times, as `nd.inspect` takes them. */
  start: string;
  end: string;
}

/** A mark of the drawn chart as vega hands it to a click listener (the fields read here). */
export interface IChartItem {
  mark?: { name?: string };
  datum?: Record<string, unknown>;
}

/**
 * What a click on `item` asks to inspect; null for marks that inspect nothing (a cell without
 * drift, other panels, the axes). `bucketMs`: the chart's bucket width; the window is the
 * clicked bucket, [t, t + bucket).
 */
export function inspectRequest(item: IChartItem | null | undefined, model: string, bucketMs: number): IInspectRequest | null {
  const name = item?.mark?.name;
  const datum = item?.datum;
  if (!datum || typeof datum.t !== 'number' || !Number.isFinite(datum.t) || !(bucketMs > 0)) {
    return null;
  }
  let feature: string | null;
  if (name === INSPECTABLE_MARKS.drift && datum.drifted === true && typeof datum.feature === 'string') {
    feature = datum.feature;
  } else if (name === INSPECTABLE_MARKS.integrity) {
    feature = null; // the panel counts violations by kind, over every feature
  } else {
    return null;
  }
  return { model, feature, start: new Date(datum.t).toISOString(), end: new Date(datum.t + bucketMs).toISOString() };
}

/** A string literal in both languages: JSON's quoting is valid Python and TypeScript. */
const literal = (text: string): string => JSON.stringify(text);

/** The code of the cell that inspects `request`, in `language`. */
export function inspectCode(language: InspectLanguage, request: IInspectRequest): string {
  const fields: Array<[string, string]> = [
    ...(request.feature === null ? [] : ([['feature', request.feature]] as Array<[string, string]>)),
    ['start', request.start],
    ['end', request.end]
  ];
  if (language === 'python') {
    return `nd.inspect(${[literal(request.model), ...fields.map(([k, v]) => `${k}=${literal(v)}`)].join(', ')})`;
  }
  return `await nd.inspect(${literal(request.model)}, { ${fields.map(([k, v]) => `${k}: ${literal(v)}`).join(', ')} })`;
}

/** The inspect language of a kernel language name (`language_info.name`, kernelspec `language`); null when there is none. */
export function inspectLanguage(language: string | null | undefined): InspectLanguage | null {
  const name = (language ?? '').toLowerCase();
  if (name === 'python' || name === 'python3') {
    return 'python';
  }
  return name === 'typescript' || name === 'javascript' ? 'typescript' : null;
}

/** The notebook a chart is in, as a click needs it (notebook-panel-cells.ts: a JupyterLab notebook). */
export interface IChartNotebook {
  /** The language of its running kernel; null without a kernel (nothing to run the cell). */
  readonly language: InspectLanguage | null;
  /** Emitted when the kernel starts, stops or changes. */
  readonly kernelChanged: ISignal<unknown, unknown>;
  /** Inserts a code cell below the cell whose output holds `chart` and runs it; resolves to whether it ran without error. */
  insertBelowAndRun(chart: HTMLElement, code: string): Promise<boolean>;
}

/** Finds the notebook a chart's node is in (null: not in a notebook); the same object for the same notebook. */
export type ChartNotebookFinder = (node: HTMLElement) => IChartNotebook | null;

/**
 * The clicks of one chart. `find` locates its notebook (again on each `locate`, e.g. once the
 * chart is attached); `changed` is called when whether a click can inspect changed.
 */
export class ChartTriage implements IDisposable {
  constructor(
    private readonly _node: HTMLElement,
    private readonly _find: ChartNotebookFinder,
    private readonly _changed: () => void
  ) {}

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether a click can inspect now: the chart is in a notebook whose kernel speaks a language with `nd.inspect`. */
  get inspectable(): boolean {
    return this._notebook?.language !== null && this._notebook?.language !== undefined;
  }

  /** Looks for the chart's notebook (again); follows its kernel. */
  locate(): void {
    if (this._disposed) {
      return;
    }
    const notebook = this._find(this._node);
    if (notebook === this._notebook) {
      return;
    }
    const before = this.inspectable;
    this._notebook?.kernelChanged.disconnect(this._changed);
    this._notebook = notebook;
    this._notebook?.kernelChanged.connect(this._changed);
    if (this.inspectable !== before) {
      this._changed();
    }
  }

  /**
   * A click on `item` of the chart of `model` (buckets of `bucketMs`): inserts and runs the
   * inspect cell when the mark inspects something and the notebook can run it. Resolves to
   * the code run, or null when the click did nothing.
   */
  async click(item: IChartItem | null | undefined, model: string, bucketMs: number): Promise<string | null> {
    const request = inspectRequest(item, model, bucketMs);
    if (!request || this._disposed) {
      return null;
    }
    this.locate();
    const notebook = this._notebook;
    const language = notebook?.language ?? null;
    if (!notebook || !language) {
      return null;
    }
    const code = inspectCode(language, request);
    await notebook.insertBelowAndRun(this._node, code);
    return code;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._notebook?.kernelChanged.disconnect(this._changed);
    this._notebook = null;
  }

  private _disposed = false;
  private _notebook: IChartNotebook | null = null;
}
