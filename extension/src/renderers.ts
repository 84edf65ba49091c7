/**
 * The plugin that adds nbdeploy's renderers to JupyterLab's rendermime registry, which
 * notebooks, consoles and output views clone. A plugin rather than a mimeExtension so
 * that the live monitor chart and the reviewer's bar can take the service client as an
 * optional dependency (and the monitor chart the notebook tracker, for its clicks).
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { deploymentRendererFactory } from './deployment.js';
import { monitorRendererFactory } from './monitor.js';
import { inspectRendererFactory } from './inspect.js';
import { chartNotebookFinder } from './notebook-panel-cells.js';
import { replayRendererFactory } from './replay.js';
import type { ServiceClient } from './service-client.js';
import { IServiceClient } from './tokens.js';
import { createValidationRendererFactory } from './validation.js';

export const renderersPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbdeploy:renderers',
  description: 'Renders nbdeploy validation reports, deployments, monitor charts, replays and inspections in notebook outputs.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [IServiceClient, INotebookTracker],
  activate: activateRenderers
};

function activateRenderers(_app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, client: ServiceClient | null, tracker: INotebookTracker | null): void {
  rendermime.addFactory(createValidationRendererFactory(client));
  rendermime.addFactory(deploymentRendererFactory);
  rendermime.addFactory(replayRendererFactory);
  rendermime.addFactory(inspectRendererFactory);
  // Live with the service connection; the snapshot alone without it. In a notebook with a
  // kernel, a click on a drifted cell inserts and runs an `nd.inspect(...)` cell below.
  rendermime.addFactory(monitorRendererFactory(client, undefined, tracker ? chartNotebookFinder(tracker) : null));
}
