/**
 * The plugin that adds nbdeploy's renderers to JupyterLab's rendermime registry, which
 * notebooks, consoles and output views clone. A plugin rather than a mimeExtension so
 * that the live monitor chart and the reviewer's bar can take the service client as an
 * optional dependency.
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { deploymentRendererFactory } from './deployment.js';
import { monitorRendererFactory } from './monitor.js';
import { inspectRendererFactory } from './inspect.js';
import { replayRendererFactory } from './replay.js';
import type { ServiceClient } from './service-client.js';
import { IServiceClient } from './tokens.js';
import { createValidationRendererFactory } from './validation.js';

export const renderersPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbdeploy:renderers',
  description: 'Renders nbdeploy validation reports, deployments, monitor charts, replays and inspections in notebook outputs.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [IServiceClient],
  activate: activateRenderers
};

function activateRenderers(_app: JupyterFrontEnd, rendermime: IRenderMimeRegistry, client: ServiceClient | null): void {
  rendermime.addFactory(createValidationRendererFactory(client));
  rendermime.addFactory(deploymentRendererFactory);
  rendermime.addFactory(replayRendererFactory);
  rendermime.addFactory(inspectRendererFactory);
  // Live with the service connection; the snapshot alone without it.
  rendermime.addFactory(monitorRendererFactory(client));
}
