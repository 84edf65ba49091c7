/**
 * What the Models sidebar does to the current notebook: insert a code cell below the
 * active one and run it (the forms), and run the cells tagged `nbdeploy-validation` in
 * order, reading their outputs for errors (a failing assertion) and failing validation
 * reports. The panel's Deploy form stays closed while the last run found either.
 *
 * The logic works on a small view of a notebook ({@link INotebookCells}); notebook-panel-cells.ts
 * is that view of a JupyterLab notebook.
 */

import { VALIDATION_MIME_TYPE } from './mime.js';

/** The tag of the cells that "Run validation cells" runs. */
export const VALIDATION_TAG = 'nbdeploy-validation';

/** A cell's output as nbformat writes it (only the fields read here). */
export interface ICellOutput {
  output_type: string;
  ename?: string;
  evalue?: string;
  data?: Record<string, unknown>;
}

/** The parts of a notebook this module uses. */
export interface INotebookCells {
  /** The cells in order: their type, tags and outputs. */
  cells(): { type: string; tags: string[]; outputs: ICellOutput[] }[];
  /** Inserts a code cell below the active cell, makes it active, and returns its index. */
  insertCodeBelow(source: string): number;
  /** Runs these cells in order; resolves to whether all ran without error. */
  run(indices: number[]): Promise<boolean>;
}

/** Inserts `code` in a new cell below the active one and runs it; resolves to whether it ran without error. */
export async function insertAndRun(notebook: INotebookCells, code: string): Promise<boolean> {
  const index = notebook.insertCodeBelow(code);
  return notebook.run([index]);
}

/** What the last "Run validation cells" found. */
export interface IValidationRun {
  /** How many tagged cells there were. */
  cells: number;
  /** Errors raised by the cells, e.g. `cell 4: AssertionError: f1 too low`. */
  errors: string[];
  /** Validation reports in the outputs that failed, e.g. `cancer v2`. */
  failed: string[];
  /** Validation reports that passed. */
  passed: string[];
  at: Date;
}

/** Why deploying is held back after this run; null when nothing holds it. */
export function deployBlockedBy(run: IValidationRun | null | undefined): string | null {
  if (!run) {
    return null;
  }
  if (run.errors.length) {
    return `The validation cells raised an error (${run.errors[0]}). Fix it and run them again.`;
  }
  if (run.failed.length) {
    return `The validation of ${run.failed.join(', ')} failed. Fix it and run the validation cells again.`;
  }
  return null;
}

/** Runs every cell tagged `nbdeploy-validation`, in order, and reads what they output. */
export async function runValidationCells(notebook: INotebookCells): Promise<IValidationRun> {
  const tagged = notebook
    .cells()
    .map((cell, index) => ({ cell, index }))
    .filter(({ cell }) => cell.type === 'code' && cell.tags.includes(VALIDATION_TAG))
    .map(({ index }) => index);
  if (!tagged.length) {
    return { cells: 0, errors: [], failed: [], passed: [], at: new Date() };
  }
  const ok = await notebook.run(tagged);
  const cells = notebook.cells();
  const errors: string[] = [];
  const failed: string[] = [];
  const passed: string[] = [];
  for (const index of tagged) {
    if (errors.length) {
      break; // the cells after a failing one did not run: their outputs are from before
    }
    for (const output of cells[index]?.outputs ?? []) {
      if (output.output_type === 'error') {
        errors.push(`cell ${index + 1}: ${output.ename ?? 'Error'}${output.evalue ? `: ${output.evalue}` : ''}`);
      }
      const report = output.data?.[VALIDATION_MIME_TYPE] as { model?: string; version?: number; passed?: boolean } | undefined;
      if (report && typeof report.model === 'string') {
        (report.passed ? passed : failed).push(`${report.model} v${report.version}`);
      }
    }
  }
  if (!ok && !errors.length) {
    errors.push('a validation cell did not finish (the kernel was interrupted or restarted)');
  }
  return { cells: tagged.length, errors, failed, passed, at: new Date() };
}
