/**
 * The plugin that opens the one connection to the nbdeploy service, through the Jupyter
 * server's proxy — or to the URL the `serviceUrl` setting gives (schema/service.json),
 * applied as soon as it changes.
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ServiceClient, proxyUrl } from './service-client.js';
import { serviceUrl } from './service-url.js';
import { IServiceClient } from './tokens.js';

export const servicePlugin: JupyterFrontEndPlugin<ServiceClient> = {
  id: 'nbdeploy:service',
  description: 'Connects to the nbdeploy service through the Jupyter server proxy (or the service URL setting).',
  autoStart: true,
  provides: IServiceClient,
  optional: [ISettingRegistry],
  activate: activateService
};

function activateService(app: JupyterFrontEnd, settingRegistry: ISettingRegistry | null): ServiceClient {
  const proxy = proxyUrl(app.serviceManager.serverSettings);
  const client = new ServiceClient({ url: proxy });
  if (settingRegistry) {
    const apply = (settings: ISettingRegistry.ISettings): void => {
      try {
        client.setUrl(serviceUrl(String(settings.get('serviceUrl').composite ?? ''), proxy));
      } catch (error) {
        Notification.error(error instanceof Error ? error.message : String(error), { autoClose: false });
      }
    };
    settingRegistry
      .load(servicePlugin.id)
      .then(settings => {
        apply(settings);
        settings.changed.connect(apply);
      })
      .catch(error => Notification.error(`nbdeploy could not read its service settings: ${error instanceof Error ? error.message : String(error)}`));
  }
  return client;
}
