/** nbdeploy's JupyterLab extension: every plugin, collected. */

import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { modelsPlugin } from './models-plugin.js';
import { renderersPlugin } from './renderers.js';
import { servicePlugin } from './service-plugin.js';

const plugins: JupyterFrontEndPlugin<unknown>[] = [servicePlugin, renderersPlugin, modelsPlugin];

export default plugins;
