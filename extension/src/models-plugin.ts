/**
 * The Models sidebar plugin: the panel in the left area with its icon, nbdeploy's commands
 * (in the palette), alert notifications and the badge on the tab, and the
 * `nbdeploy:models-panel` settings (schema/models-panel.json).
 */

import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { AlertBadge } from './alert-badge.js';
import { watchAlerts } from './alert-notifications.js';
import { CommandIDs, PALETTE_CATEGORY } from './commands.js';
import { CurrentNotebook } from './current-notebook.js';
import { modelsIcon } from './icons.js';
import { ModelActions } from './model-actions.js';
import { ModelsModel } from './models-model.js';
import { ModelsPanel } from './models-panel.js';
import { notebookCells } from './notebook-panel-cells.js';
import { NOTHING_FOUND, deployForm, exportForm, validateForm } from './notebook-forms.js';
import type { ServiceClient } from './service-client.js';
import { IServiceClient } from './tokens.js';

/** The sidebar tab's tooltip. */
const CAPTION = 'nbdeploy models';

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbdeploy:models-panel',
  description: 'The Models sidebar: deployments, their actions and alerts, and the current notebook’s export, validate and deploy forms.',
  autoStart: true,
  requires: [IServiceClient],
  optional: [INotebookTracker, ISettingRegistry, ICommandPalette, ILayoutRestorer],
  activate: activateModels
};

function activateModels(
  app: JupyterFrontEnd,
  client: ServiceClient,
  tracker: INotebookTracker | null,
  settingRegistry: ISettingRegistry | null,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null
): void {
  const { commands, shell } = app;
  const models = new ModelsModel(client);
  const actions = new ModelActions(models);
  const current = tracker ? new CurrentNotebook({ tracker, cellsOf: notebookCells }) : null;
  let notifyAlerts = true;

  /** Asks the kernel what it can export when nothing is known yet for this notebook. */
  const askKernelIfUnknown = (): void => {
    const state = current?.state;
    if (current?.panel && panel.isVisible && state && !state.exportable && !state.exportableError && !state.busy) {
      void current.findExportable();
    }
  };

  const panel = new ModelsPanel({
    models,
    notebook: current ?? undefined,
    onAction: (action, model, version) => {
      const ids = {
        promote: CommandIDs.promote,
        'set-canary': CommandIDs.setCanary,
        'set-shadow': CommandIDs.setShadow,
        rollback: CommandIDs.rollback,
        undeploy: CommandIDs.undeploy,
        'set-capture': CommandIDs.setCapture
      };
      void commands.execute(ids[action], version ? { model: model.name, version: version.version } : { model: model.name });
    },
    execute: (id, args) => void commands.execute(id, args),
    onShow: askKernelIfUnknown
  });
  panel.title.icon = modelsIcon;
  panel.title.caption = CAPTION;
  const badge = new AlertBadge(panel.title, CAPTION);
  panel.badge = badge;
  shell.add(panel, 'left', { rank: 650 });
  restorer?.add(panel, 'nbdeploy-models');
  current?.changed.connect(askKernelIfUnknown);

  watchAlerts(models, {
    isPanelVisible: () => panel.isVisible,
    badge,
    shouldNotify: () => notifyAlerts,
    openModels: () => void commands.execute(CommandIDs.openModels)
  });

  if (settingRegistry) {
    void settingRegistry
      .load(modelsPlugin.id)
      .then(settings => {
        const apply = (): void => {
          panel.refreshSeconds = Number(settings.get('refreshSeconds').composite ?? 10);
          notifyAlerts = settings.get('notifyAlerts').composite !== false;
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(error => Notification.error(`nbdeploy could not read the Models sidebar settings: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** The model and version a command was given, or asked for. */
  const target = async (args: Record<string, unknown>, needsVersion: boolean): Promise<{ model: string; version: number } | null> => {
    const model = typeof args.model === 'string' ? args.model : await actions.pickModel();
    if (!model) {
      return null;
    }
    if (!needsVersion) {
      return { model, version: NaN };
    }
    const version = typeof args.version === 'number' ? args.version : await actions.pickVersion(model);
    return version ? { model, version } : null;
  };

  /** Runs a notebook form: asks the kernel first when nothing is known, then inserts and runs the cell. */
  const runForm = async (form: (found: typeof NOTHING_FOUND) => Promise<string | null>): Promise<void> => {
    if (!current?.panel) {
      await showErrorMessage('No notebook', 'Open a notebook first: the code goes into a new cell of the current notebook.');
      return;
    }
    if (!current.state.exportable && !current.state.busy) {
      await current.findExportable();
    }
    const code = await form(current.state.exportable ?? NOTHING_FOUND);
    if (code) {
      await current.insertAndRun(code);
    }
  };

  commands.addCommand(CommandIDs.openModels, {
    label: 'Show nbdeploy Models',
    caption: 'Open the Models sidebar: deployments, validation, alerts',
    icon: modelsIcon,
    execute: () => shell.activateById(panel.id)
  });
  commands.addCommand(CommandIDs.refreshModels, {
    label: 'Refresh nbdeploy Models',
    caption: 'List the models of the nbdeploy service again',
    execute: () => models.refresh()
  });
  commands.addCommand(CommandIDs.promote, {
    label: args => (args.model ? `Promote ${args.model} v${args.version}` : 'Promote a Model Version…'),
    caption: 'Make a version production (its validation must have passed, or give an override reason)',
    execute: async args => {
      const t = await target(args, true);
      return t ? actions.promote(t.model, t.version) : false;
    }
  });
  commands.addCommand(CommandIDs.setCanary, {
    label: args => (args.model ? `Canary for ${args.model} v${args.version}…` : 'Set a Canary Share…'),
    caption: 'Send a share of a model’s traffic to a version (0 removes the canary)',
    execute: async args => {
      const t = await target(args, true);
      return t ? actions.setCanary(t.model, t.version, typeof args.percent === 'number' ? args.percent : undefined) : false;
    }
  });
  commands.addCommand(CommandIDs.setShadow, {
    label: args => (args.model ? `Shadow ${args.model} v${args.version}` : 'Shadow a Model Version…'),
    caption: 'Mirror a model’s traffic to a version (its answers go to monitoring only), or stop',
    execute: async args => {
      const t = await target(args, true);
      return t ? actions.setShadow(t.model, t.version, typeof args.enabled === 'boolean' ? args.enabled : undefined) : false;
    }
  });
  commands.addCommand(CommandIDs.setCapture, {
    label: args => (args.model ? `Capture for ${args.model}…` : 'Capture a Model’s Requests…'),
    caption: 'Keep a share of a model’s served requests for nd.inspect and nd.replay, or stop',
    execute: async args => {
      const t = await target(args, false);
      if (!t) {
        return false;
      }
      const change = typeof args.rate === 'number' ? { rate: args.rate, retention_days: typeof args.retention_days === 'number' ? args.retention_days : undefined } : undefined;
      return actions.setCapture(t.model, change);
    }
  });
  commands.addCommand(CommandIDs.rollback, {
    label: args => (args.model ? `Roll Back ${args.model}` : 'Roll Back a Model…'),
    caption: 'Return production to the previous production version',
    execute: async args => {
      const t = await target(args, false);
      return t ? actions.rollback(t.model) : false;
    }
  });
  commands.addCommand(CommandIDs.undeploy, {
    label: args => (args.model ? `Undeploy ${args.model}${args.version ? ` v${args.version}` : ''}` : 'Undeploy a Model Version…'),
    caption: 'Archive a version, or stop serving the model',
    execute: async args => {
      if (typeof args.model === 'string' && args.version === undefined) {
        return actions.undeploy(args.model); // the whole model stops being served
      }
      const t = await target(args, true);
      return t ? actions.undeploy(t.model, t.version) : false;
    }
  });
  commands.addCommand(CommandIDs.findExportable, {
    label: 'Find Exportable Models in the Notebook',
    caption: 'Ask the current notebook’s kernel for its fitted models and ONNX files',
    isEnabled: () => !!current?.panel,
    execute: () => current?.findExportable()
  });
  commands.addCommand(CommandIDs.insertExport, {
    label: 'Export a Model (insert cell)…',
    caption: 'Insert and run an nd.export(...) cell below the active cell',
    isEnabled: () => !!current?.panel,
    execute: args => runForm(found => exportForm(found, typeof args.model === 'string' ? args.model : undefined))
  });
  commands.addCommand(CommandIDs.insertValidate, {
    label: 'Validate an Artifact (insert cell)…',
    caption: 'Insert and run an nd.validate(...) cell below the active cell',
    isEnabled: () => !!current?.panel,
    execute: () => runForm(validateForm)
  });
  commands.addCommand(CommandIDs.insertDeploy, {
    label: 'Deploy an Artifact (insert cell)…',
    caption: 'Insert and run an nd.deploy(...) cell below the active cell (held back while the validation cells fail)',
    isEnabled: () => !!current?.panel && !current.deployBlockedBy,
    execute: async () => {
      const blocked = current?.deployBlockedBy;
      if (blocked) {
        await showErrorMessage('Deploy is held back', blocked);
        return;
      }
      await runForm(deployForm);
    }
  });
  commands.addCommand(CommandIDs.runValidationCells, {
    label: 'Run Validation Cells',
    caption: 'Run the cells tagged nbdeploy-validation, in order; a failure holds back Deploy',
    isEnabled: () => !!current?.panel,
    execute: async () => {
      const run = await current?.runValidationCells();
      if (!run) {
        return;
      }
      if (!run.cells) {
        Notification.info('No cell is tagged nbdeploy-validation in this notebook.', { autoClose: 5000 });
      } else if (run.errors.length || run.failed.length) {
        Notification.error(`Validation cells: ${current?.deployBlockedBy}`, { autoClose: 10_000 });
      } else {
        Notification.success(`Validation cells: ${run.cells} ran, ${run.passed.length} report(s) passed.`, { autoClose: 5000 });
      }
    }
  });

  for (const command of [
    CommandIDs.openModels,
    CommandIDs.refreshModels,
    CommandIDs.promote,
    CommandIDs.setCanary,
    CommandIDs.setShadow,
    CommandIDs.setCapture,
    CommandIDs.rollback,
    CommandIDs.undeploy,
    CommandIDs.findExportable,
    CommandIDs.insertExport,
    CommandIDs.insertValidate,
    CommandIDs.insertDeploy,
    CommandIDs.runValidationCells
  ]) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}
