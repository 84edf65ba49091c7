/**
 * The sidebar's notebook actions on a small fake notebook (cells with tags and outputs, a
 * run that appends outputs) and a fake kernel answering the exportable-models question.
 */
import { Signal } from '@lumino/signaling';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { describe, expect, it } from 'vitest';

import { CurrentNotebook } from '../src/current-notebook.js';
import { DISCOVERY_EXPRESSION } from '../src/exportable-models.js';
import { VALIDATION_MIME_TYPE } from '../src/mime.js';
import { type ICellOutput, type INotebookCells, VALIDATION_TAG, deployBlockedBy, runValidationCells } from '../src/notebook-cells.js';
import { renderNotebookSection } from '../src/notebook-section.js';

interface IFakeCell {
  type: string;
  tags: string[];
  source: string;
  outputs: ICellOutput[];
}

/** A notebook whose "kernel" answers each cell with the outputs `run` gives for its source. */
class FakeNotebook implements INotebookCells {
  constructor(
    readonly list: IFakeCell[],
    private readonly _run: (source: string) => ICellOutput[] = () => []
  ) {}

  active = 0;
  ran: string[] = [];

  cells() {
    return this.list.map(({ type, tags, outputs }) => ({ type, tags, outputs }));
  }

  insertCodeBelow(source: string): number {
    this.list.splice(this.active + 1, 0, { type: 'code', tags: [], source, outputs: [] });
    return ++this.active;
  }

  async run(indices: number[]): Promise<boolean> {
    for (const index of indices) {
      const cell = this.list[index];
      this.ran.push(cell.source);
      cell.outputs = this._run(cell.source);
      if (cell.outputs.some(o => o.output_type === 'error')) {
        return false; // JupyterLab stops at the first error
      }
    }
    return true;
  }
}

const code = (source: string, tags: string[] = [], outputs: ICellOutput[] = []): IFakeCell => ({ type: 'code', tags, source, outputs });
const report = (model: string, version: number, passed: boolean): ICellOutput => ({
  output_type: 'display_data',
  data: { [VALIDATION_MIME_TYPE]: { model, version, passed }, 'text/plain': 'report' }
});

describe('runValidationCells', () => {
  it('should run only the tagged code cells, in order, and collect their reports', async () => {
    const notebook = new FakeNotebook(
      [code('train()'), code('check_a', [VALIDATION_TAG]), { type: 'markdown', tags: [VALIDATION_TAG], source: '# notes', outputs: [] }, code('check_b', ['other', VALIDATION_TAG])],
      source => (source === 'check_a' ? [report('cancer', 2, true)] : [])
    );
    const run = await runValidationCells(notebook);
    expect(notebook.ran).toEqual(['check_a', 'check_b']);
    expect(run).toMatchObject({ cells: 2, errors: [], failed: [], passed: ['cancer v2'] });
    expect(deployBlockedBy(run)).toBeNull();
  });

  it('should hold back Deploy on a failing assertion, and ignore the stale outputs of cells that did not run', async () => {
    const notebook = new FakeNotebook(
      [code('assert f1 > 0.99', [VALIDATION_TAG]), code('later', [VALIDATION_TAG], [report('cancer', 1, false)])],
      source => (source.startsWith('assert') ? [{ output_type: 'error', ename: 'AssertionError', evalue: 'f1 too low' }] : [])
    );
    const run = await runValidationCells(notebook);
    expect(notebook.ran).toEqual(['assert f1 > 0.99']);
    expect(run.errors).toEqual(['cell 1: AssertionError: f1 too low']);
    expect(run.failed).toEqual([]);
    expect(deployBlockedBy(run)).toBe('The validation cells raised an error (cell 1: AssertionError: f1 too low). Fix it and run them again.');
  });

  it('should hold back Deploy on a failing validation report', async () => {
    const notebook = new FakeNotebook([code('nd.validate(...)', [VALIDATION_TAG])], () => [report('cancer', 3, false)]);
    const run = await runValidationCells(notebook);
    expect(deployBlockedBy(run)).toBe('The validation of cancer v3 failed. Fix it and run the validation cells again.');
  });

  it('should say when no cell is tagged', async () => {
    const run = await runValidationCells(new FakeNotebook([code('x = 1')]));
    expect(run.cells).toBe(0);
    expect(deployBlockedBy(run)).toBeNull();
  });
});

/** A kernel that answers the discovery expression with `answer` (a user-expression result). */
function fakeKernel(answer: unknown) {
  const requests: Record<string, unknown>[] = [];
  return {
    requests,
    requestExecute(content: Record<string, unknown>) {
      requests.push(content);
      return { done: Promise.resolve({ content: { status: 'ok', user_expressions: { nbdeploy: answer } } }) };
    }
  };
}

function fakePanel(kernel: unknown): NotebookPanel {
  return { title: { label: 'train.ipynb' }, sessionContext: { session: kernel ? { kernel } : null } } as unknown as NotebookPanel;
}

function currentNotebook(panel: NotebookPanel | null, notebook: FakeNotebook) {
  const tracker = { currentWidget: panel, currentChanged: new Signal<unknown, NotebookPanel | null>({}) };
  return new CurrentNotebook({ tracker: tracker as never, cellsOf: () => notebook });
}

describe('CurrentNotebook', () => {
  const exportable = {
    models: [{ name: 'clf', kind: 'sklearn', type: 'LogisticRegression' }],
    data: [{ name: 'X_train', type: 'DataFrame', shape: [100, 4] }],
    artifacts: [],
    onnx_files: ['churn.onnx']
  };

  it('should ask the kernel silently and list its exportable models', async () => {
    const kernel = fakeKernel({ status: 'ok', data: { 'application/json': exportable, 'text/plain': '{...}' } });
    const current = currentNotebook(fakePanel(kernel), new FakeNotebook([code('x')]));
    await current.findExportable();
    expect(kernel.requests).toEqual([{ code: '', silent: true, store_history: false, user_expressions: { nbdeploy: DISCOVERY_EXPRESSION } }]);
    expect(current.state.exportable).toEqual(exportable);
    const section = renderNotebookSection(current, () => undefined);
    expect([...section.querySelectorAll('[data-exportable]')].map(li => (li as HTMLElement).dataset.exportable)).toEqual(['clf', 'churn.onnx']);
  });

  it('should say when nbdeploy is missing from the kernel, or there is no kernel', async () => {
    const kernel = fakeKernel({ status: 'error', ename: 'ModuleNotFoundError', evalue: "No module named 'nbdeploy'", traceback: [] });
    const current = currentNotebook(fakePanel(kernel), new FakeNotebook([]));
    await current.findExportable();
    expect(current.state.exportableError).toBe("Could not ask the kernel: nbdeploy is not installed in this kernel's Python (No module named 'nbdeploy')");
    const none = currentNotebook(fakePanel(null), new FakeNotebook([]));
    await none.findExportable();
    expect(none.state.exportableError).toBe('The notebook has no kernel running.');
  });

  it('should insert the code below the active cell and run it', async () => {
    const notebook = new FakeNotebook([code('a'), code('b')]);
    const current = currentNotebook(fakePanel(fakeKernel({ status: 'ok', data: { 'application/json': exportable } })), notebook);
    const ran = await current.insertAndRun('art = nd.export(clf, X_train, name="m")');
    expect(ran).toBe(true);
    expect(notebook.list.map(c => c.source)).toEqual(['a', 'art = nd.export(clf, X_train, name="m")', 'b']);
    expect(notebook.ran).toEqual(['art = nd.export(clf, X_train, name="m")']);
  });

  it('should disable Deploy in the section, with the reason, after a failing run', async () => {
    const notebook = new FakeNotebook([code('nd.validate(...)', [VALIDATION_TAG])], () => [report('cancer', 3, false)]);
    const current = currentNotebook(fakePanel(null), notebook);
    const before = renderNotebookSection(current, () => undefined);
    expect(before.querySelector<HTMLButtonElement>('[data-action="deploy"]')!.disabled).toBe(false);
    await current.runValidationCells();
    const executed: string[] = [];
    const after = renderNotebookSection(current, id => executed.push(id));
    const deploy = after.querySelector<HTMLButtonElement>('[data-action="deploy"]')!;
    expect(deploy.disabled).toBe(true);
    expect(deploy.title).toBe(current.deployBlockedBy);
    expect(after.querySelector('[data-blocked="deploy"]')?.textContent).toContain('The validation of cancer v3 failed');
    expect(after.querySelector('[data-run]')?.getAttribute('data-run')).toBe('fail');
    after.querySelector<HTMLButtonElement>('[data-action="run-validation"]')!.click();
    expect(executed).toEqual(['nbdeploy:run-validation-cells']);
  });

  it('should show that there is no notebook', () => {
    const current = currentNotebook(null, new FakeNotebook([]));
    expect(renderNotebookSection(current, () => undefined).textContent).toContain('Open a notebook');
  });
});
