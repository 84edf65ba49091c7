/** nbdeploy's JupyterLab extension: every plugin, collected. */

import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { renderersPlugin } from './renderers.js';

const plugins: JupyterFrontEndPlugin<unknown>[] = [renderersPlugin];

export default plugins;
