/**
 * The Models sidebar's section for the current notebook: the models its kernel can
 * export (each with an Export button), the Export / Validate / Deploy forms, and "Run
 * validation cells" with what the last run found. Deploy is disabled, with the reason,
 * while that run had an error or a failing report. Buttons run nbdeploy's commands.
 */

import { CommandIDs } from './commands.js';
import type { CurrentNotebook } from './current-notebook.js';
import { h } from './dom.js';
import { VALIDATION_TAG } from './notebook-cells.js';

/** Runs a command by id (the app's command registry in JupyterLab). */
export type Execute = (id: string, args?: Record<string, string>) => void;

export function renderNotebookSection(current: CurrentNotebook, execute: Execute): HTMLElement {
  const panel = current.panel;
  const root = h('section', { className: 'jp-nbdeploy-notebookSection' });
  if (!panel) {
    root.append(sectionTitle('Notebook'), h('p', { className: 'jp-nbdeploy-detail' }, 'Open a notebook to export, validate and deploy its models from here.'));
    return root;
  }
  const state = current.state;
  const blocked = current.deployBlockedBy;
  root.append(
    ...[
      sectionTitle(`Notebook: ${panel.title.label}`),
      h('h4', { className: 'jp-nbdeploy-subTitle' }, 'Exportable models', button('↻', 'find-exportable', 'Ask the kernel again', () => execute(CommandIDs.findExportable), state.busy !== null)),
      exportableList(current, execute),
      h(
        'div',
        { className: 'jp-nbdeploy-formButtons' },
        button('Export…', 'export', 'Insert and run a cell that exports a model (nd.export)', () => execute(CommandIDs.insertExport), state.busy !== null),
        button('Validate…', 'validate', 'Insert and run a cell that validates an artifact (nd.validate)', () => execute(CommandIDs.insertValidate), state.busy !== null),
        button('Deploy…', 'deploy', blocked ?? 'Insert and run a cell that deploys an artifact (nd.deploy)', () => execute(CommandIDs.insertDeploy), state.busy !== null || blocked !== null)
      ),
      blocked ? h('p', { className: 'jp-nbdeploy-blocked', dataset: { blocked: 'deploy' } }, `Deploy is held back: ${blocked}`) : null,
      h('h4', { className: 'jp-nbdeploy-subTitle' }, 'Validation cells'),
      h(
        'div',
        { className: 'jp-nbdeploy-formButtons' },
        button('Run validation cells', 'run-validation', `Run the cells tagged ${VALIDATION_TAG}, in order`, () => execute(CommandIDs.runValidationCells), state.busy !== null)
      ),
      validationRunSummary(current)
    ].filter((node): node is HTMLElement => node !== null)
  );
  return root;
}

function exportableList(current: CurrentNotebook, execute: Execute): HTMLElement {
  const state = current.state;
  if (state.busy === 'finding' && !state.exportable) {
    return h('p', { className: 'jp-nbdeploy-detail' }, 'Asking the kernel…');
  }
  if (state.exportableError) {
    return h('p', { className: 'jp-nbdeploy-error' }, state.exportableError);
  }
  const found = state.exportable;
  if (!found) {
    return h('p', { className: 'jp-nbdeploy-detail' }, 'Not asked yet: press ↻ once the kernel has run your training cells.');
  }
  const items = [
    ...found.models.map(model =>
      h(
        'li',
        { className: 'jp-nbdeploy-exportable', dataset: { exportable: model.name, kind: model.kind } },
        h('code', {}, model.name),
        h('span', { className: 'jp-nbdeploy-detail' }, ` ${model.type} · ${kindLabel(model.kind)}`),
        button('Export…', 'export-model', `Export ${model.name}`, () => execute(CommandIDs.insertExport, { model: model.name }), state.busy !== null)
      )
    ),
    ...found.onnx_files.map(file =>
      h(
        'li',
        { className: 'jp-nbdeploy-exportable', dataset: { exportable: file, kind: 'onnx' } },
        h('code', {}, file),
        h('span', { className: 'jp-nbdeploy-detail' }, ' ONNX file'),
        button('Export…', 'export-model', `Export ${file}`, () => execute(CommandIDs.insertExport, { model: `file:${file}` }), state.busy !== null)
      )
    )
  ];
  if (!items.length) {
    return h('p', { className: 'jp-nbdeploy-detail' }, 'No fitted scikit-learn, PyTorch or LightGBM model in the kernel, and no .onnx file in its folder.');
  }
  const artifacts = found.artifacts.length
    ? h('p', { className: 'jp-nbdeploy-detail' }, `Artifacts: ${found.artifacts.map(a => `${a.name} (${a.model})`).join(', ')}`)
    : null;
  return h('div', {}, h('ul', { className: 'jp-nbdeploy-exportables' }, ...items), artifacts);
}

function validationRunSummary(current: CurrentNotebook): HTMLElement {
  const state = current.state;
  if (state.busy === 'validating') {
    return h('p', { className: 'jp-nbdeploy-detail' }, 'Running the validation cells…');
  }
  const run = state.lastRun;
  if (!run) {
    return h('p', { className: 'jp-nbdeploy-detail' }, `Tag cells "${VALIDATION_TAG}" (property inspector) to run them together here.`);
  }
  if (!run.cells) {
    return h('p', { className: 'jp-nbdeploy-detail', dataset: { run: 'none' } }, `No cell is tagged "${VALIDATION_TAG}" in this notebook.`);
  }
  const ok = !run.errors.length && !run.failed.length;
  return h(
    'div',
    { className: `jp-nbdeploy-validationRun ${ok ? 'jp-mod-pass' : 'jp-mod-fail'}`, dataset: { run: ok ? 'pass' : 'fail' } },
    h('div', {}, `${ok ? '✓' : '✗'} ${run.cells} validation cell${run.cells === 1 ? '' : 's'} run at ${run.at.toLocaleTimeString()}`),
    ...run.errors.map(error => h('div', { className: 'jp-nbdeploy-error' }, error)),
    ...run.failed.map(report => h('div', { className: 'jp-nbdeploy-error' }, `✗ validation of ${report} failed`)),
    ...run.passed.map(report => h('div', { className: 'jp-nbdeploy-detail' }, `✓ validation of ${report} passed`))
  );
}

function kindLabel(kind: string): string {
  return ({ sklearn: 'scikit-learn', pytorch: 'PyTorch', lightgbm: 'LightGBM' } as Record<string, string>)[kind] ?? kind;
}

function sectionTitle(text: string): HTMLElement {
  return h('h3', { className: 'jp-nbdeploy-panelSectionTitle' }, text);
}

function button(label: string, what: string, title: string, onClick: () => void, disabled = false): HTMLButtonElement {
  const node = h('button', { className: 'jp-nbdeploy-action', title, dataset: { action: what } }, label);
  node.type = 'button';
  node.disabled = disabled;
  node.addEventListener('click', onClick);
  return node;
}
