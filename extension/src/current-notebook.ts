/**
 * The notebook the Models sidebar works with: the current one in JupyterLab. Keeps, per
 * notebook, what its kernel can export and what the last "Run validation cells" found,
 * and does the notebook actions: ask the kernel, insert and run a cell, run the
 * validation cells.
 */

import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { type ISignal, Signal } from '@lumino/signaling';

import { type IExportable, findExportable } from './exportable-models.js';
import { type INotebookCells, type IValidationRun, deployBlockedBy, insertAndRun, runValidationCells } from './notebook-cells.js';

/** What the sidebar knows of one notebook. */
export interface INotebookState {
  exportable: IExportable | null;
  /** Why the kernel could not say what it can export. */
  exportableError: string | null;
  /** Asking the kernel, or running the validation cells, now. */
  busy: 'finding' | 'validating' | 'running' | null;
  lastRun: IValidationRun | null;
}

export interface ICurrentNotebookOptions {
  tracker: Pick<INotebookTracker, 'currentWidget' | 'currentChanged'>;
  /** How to reach a notebook's cells: `notebookCells` (notebook-panel-cells.ts) in JupyterLab, a fake in tests. */
  cellsOf: (panel: NotebookPanel) => INotebookCells;
}

export class CurrentNotebook {
  constructor(options: ICurrentNotebookOptions) {
    this._tracker = options.tracker;
    this._cellsOf = options.cellsOf;
    this._tracker.currentChanged.connect(() => this._changed.emit(), this);
  }

  /** Emitted when the current notebook or what is known of it changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get panel(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  /** The current notebook's state (a fresh one for a notebook not seen before). */
  get state(): INotebookState {
    const panel = this.panel;
    if (!panel) {
      return { exportable: null, exportableError: null, busy: null, lastRun: null };
    }
    let state = this._states.get(panel);
    if (!state) {
      state = { exportable: null, exportableError: null, busy: null, lastRun: null };
      this._states.set(panel, state);
    }
    return state;
  }

  /** Why Deploy is held back in the current notebook; null when it is not. */
  get deployBlockedBy(): string | null {
    return deployBlockedBy(this.state.lastRun);
  }

  /** Asks the current notebook's kernel what it can export. */
  async findExportable(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const state = this.state;
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      state.exportable = null;
      state.exportableError = 'The notebook has no kernel running.';
      this._changed.emit();
      return;
    }
    state.busy = 'finding';
    this._changed.emit();
    try {
      state.exportable = await findExportable(kernel);
      state.exportableError = null;
    } catch (error) {
      state.exportableError = `Could not ask the kernel: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      state.busy = null;
      this._changed.emit();
    }
  }

  /** Inserts `code` below the active cell and runs it; then asks the kernel again (new artifacts). */
  async insertAndRun(code: string): Promise<boolean> {
    const panel = this.panel;
    if (!panel) {
      throw new Error('Open a notebook first: the code goes into a new cell of the current notebook.');
    }
    const state = this.state;
    state.busy = 'running';
    this._changed.emit();
    try {
      return await insertAndRun(this._cellsOf(panel), code);
    } finally {
      state.busy = null;
      this._changed.emit();
      void this.findExportable();
    }
  }

  /** Runs the cells tagged `nbdeploy-validation`; what they found holds back Deploy. */
  async runValidationCells(): Promise<IValidationRun | null> {
    const panel = this.panel;
    if (!panel) {
      return null;
    }
    const state = this.state;
    state.busy = 'validating';
    this._changed.emit();
    try {
      state.lastRun = await runValidationCells(this._cellsOf(panel));
      return state.lastRun;
    } finally {
      state.busy = null;
      this._changed.emit();
    }
  }

  private readonly _tracker: ICurrentNotebookOptions['tracker'];
  private readonly _cellsOf: (panel: NotebookPanel) => INotebookCells;
  private readonly _states = new WeakMap<NotebookPanel, INotebookState>();
  private readonly _changed = new Signal<this, void>(this);
}
