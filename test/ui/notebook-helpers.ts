/**
 * What the browser tests do alike: collect console errors, wait for a kernel, wait for a
 * Run All to finish (failing at once with a cell's error: Run All stops there, so Galata's
 * own waitForRun would wait forever).
 */
import { expect } from '@jupyterlab/galata';
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { ConsoleMessage } from '@playwright/test';

/** Browser console errors and uncaught page errors from now on, but those `ignore` accepts. */
export function watchConsole(page: IJupyterLabPageFixture, ignore: (error: Error) => boolean = () => false): string[] {
  const problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', error => {
    if (!ignore(error)) problems.push(`page error: ${error.message}`);
  });
  return problems;
}

/** Waits until the notebook's kernel can take executions (Galata's own helper is private). */
export async function waitForKernel(page: IJupyterLabPageFixture): Promise<void> {
  await expect(page.locator('#jp-main-statusbar')).toContainText('Idle', { timeout: 60_000 });
}

export interface IRunOptions {
  /** How long the cells may take together. */
  timeoutMs?: number;
  /** Count output on stderr as a failure too (the TypeScript kernel reports errors there). */
  stderrFails?: boolean;
}

/** Waits until every code cell of the current notebook has run and the kernel is idle. */
export async function waitForAllCells(page: IJupyterLabPageFixture, options: IRunOptions = {}): Promise<void> {
  const stderrFails = options.stderrFails ?? false;
  const state = () =>
    page.evaluate(stderrFails => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      const cells: any[] = panel.context.model.toJSON().cells.filter((cell: any) => cell.cell_type === 'code');
      for (const [i, cell] of cells.entries()) {
        const error = cell.outputs.find((output: any) => output.output_type === 'error' || (stderrFails && output.name === 'stderr'));
        if (error) return `error in code cell ${i + 1}: ${error.ename ?? ''} ${error.evalue ?? error.text ?? ''}`;
      }
      const ran = cells.filter(cell => cell.execution_count !== null).length;
      const status = panel.sessionContext.session?.kernel?.status;
      return ran === cells.length && status === 'idle' ? 'done' : `${ran} of ${cells.length} cells run, kernel ${status}`;
    }, stderrFails);
  await expect.poll(state, { timeout: options.timeoutMs ?? 120_000, intervals: [500] }).toMatch(/^(done|error)/);
  expect(await state()).toBe('done');
}
