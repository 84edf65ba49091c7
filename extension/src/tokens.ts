/** The services nbdeploy's plugins provide to each other (and to other extensions). */

import { Token } from '@lumino/coreutils';

import type { ServiceClient } from './service-client.js';

/** The one connection to the nbdeploy service that the panel and renderers share. */
export const IServiceClient = new Token<ServiceClient>(
  'nbdeploy:IServiceClient',
  'The connection to the nbdeploy service, through the Jupyter server proxy.'
);
