/** The plugin that opens the one connection to the nbdeploy service, through the Jupyter server's proxy. */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { ServiceClient, proxyUrl } from './service-client.js';
import { IServiceClient } from './tokens.js';

export const servicePlugin: JupyterFrontEndPlugin<ServiceClient> = {
  id: 'nbdeploy:service',
  description: 'Connects to the nbdeploy service through the Jupyter server proxy.',
  autoStart: true,
  provides: IServiceClient,
  activate: (app: JupyterFrontEnd): ServiceClient => new ServiceClient({ url: proxyUrl(app.serviceManager.serverSettings) })
};
