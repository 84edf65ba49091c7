/**
 * A JupyterLab notebook as nbdeploy's notebook actions see it: for the sidebar, cells,
 * insertion and runs through `NotebookActions`; for the monitor chart's clicks, the notebook
 * a chart is in, its kernel's language, and a cell inserted below the chart's and run.
 */

import { type INotebookTracker, NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';

import { type ICellOutput, type INotebookCells, insertAndRun } from './notebook-cells.js';
import { type ChartNotebookFinder, type IChartNotebook, inspectLanguage } from './triage-click.js';

/** A JupyterLab notebook seen as {@link INotebookCells}. */
export function notebookCells(panel: NotebookPanel): INotebookCells {
  const notebook = panel.content;
  return {
    cells: () =>
      notebook.widgets.map(cell => {
        const tags = cell.model.getMetadata('tags');
        const outputs = cell.model.type === 'code' ? ((cell.model.toJSON() as { outputs?: ICellOutput[] }).outputs ?? []) : [];
        return { type: cell.model.type, tags: Array.isArray(tags) ? tags.map(String) : [], outputs };
      }),
    insertCodeBelow: source => {
      NotebookActions.insertBelow(notebook);
      if (notebook.activeCell?.model.type !== 'code') {
        NotebookActions.changeCellType(notebook, 'code');
      }
      notebook.activeCell!.model.sharedModel.setSource(source);
      return notebook.activeCellIndex;
    },
    run: indices => NotebookActions.runCells(notebook, indices.map(i => notebook.widgets[i]), panel.sessionContext)
  };
}

/** A JupyterLab notebook seen as {@link IChartNotebook}. */
function chartNotebook(panel: NotebookPanel): IChartNotebook {
  return {
    get language() {
      if (!panel.sessionContext.session?.kernel) {
        return null;
      }
      // What the kernel said of itself (JupyterLab writes it once the kernel is ready), else its spec's language.
      const model = panel.content.model;
      const info = model?.getMetadata('language_info') as { name?: string } | undefined;
      const spec = model?.getMetadata('kernelspec') as { language?: string } | undefined;
      return inspectLanguage(info?.name ?? spec?.language);
    },
    kernelChanged: panel.sessionContext.kernelChanged,
    insertBelowAndRun: async (chart, code) => {
      const notebook = panel.content;
      const index = notebook.widgets.findIndex(cell => cell.node.contains(chart));
      if (index < 0) {
        return false; // the chart's cell is gone
      }
      notebook.activeCellIndex = index;
      return insertAndRun(notebookCells(panel), code);
    }
  };
}

/** Finds the tracked notebook a chart is in. */
export function chartNotebookFinder(tracker: INotebookTracker): ChartNotebookFinder {
  const seen = new WeakMap<NotebookPanel, IChartNotebook>();
  return node => {
    const panel = tracker.find(p => p.content.node.contains(node));
    if (!panel) {
      return null;
    }
    let notebook = seen.get(panel);
    if (!notebook) {
      seen.set(panel, (notebook = chartNotebook(panel)));
    }
    return notebook;
  };
}
