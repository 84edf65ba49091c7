/** A JupyterLab notebook as the sidebar's notebook actions see it: cells, insertion, runs through `NotebookActions`. */

import { NotebookActions, type NotebookPanel } from '@jupyterlab/notebook';

import type { ICellOutput, INotebookCells } from './notebook-cells.js';

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

