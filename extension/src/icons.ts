/** nbdeploy's icons, from style/icons (themed through JupyterLab's `jp-icon3` class). */

import { LabIcon } from '@jupyterlab/ui-components';

import modelsSvg from '../../style/icons/models.svg';

/** The Models sidebar's tab icon. */
export const modelsIcon = new LabIcon({ name: 'nbdeploy:models', svgstr: modelsSvg });
