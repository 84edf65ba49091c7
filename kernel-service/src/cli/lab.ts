/** `nbdeploy lab`: the service and JupyterLab together (../lab.ts runs JupyterLab). */
import { DEFAULT_OPTIONS } from '../options.js';
import { runLab, WORK_DIR } from '../lab.js';
import { VERSION } from '../version.js';
import { type Command, integer, parseCommandLine } from './command.js';

export const lab: Command = {
  name: 'lab',
  summary: 'start the service and JupyterLab (with nbdeploy\'s extension), opening the quickstart',
  usage: `usage: nbdeploy lab [options] [-- jupyter args]

Starts the service, then JupyterLab with NBDEPLOY_URL and NBDEPLOY_TOKEN set for it, opening
a working copy of examples/quickstart.ipynb in ${WORK_DIR}/ (git ignores it). Ctrl-C stops both.

options:
  --port PORT              JupyterLab's port (default 8888)
  --no-browser             do not open a browser
  --service-port PORT      the service's port (default ${DEFAULT_OPTIONS.port})
  --state-dir DIR          as for serve (default ${DEFAULT_OPTIONS.stateDir})
  -h, --help               print this and exit
  -- ARGS                  passed on to \`jupyter lab\`
`,
  run: runLabCommand
};

async function runLabCommand(args: string[]): Promise<void> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const jupyterArgs = split === -1 ? [] : args.slice(split + 1);
  const { values } = parseCommandLine({
    args: own,
    strict: true,
    options: {
      port: { type: 'string' },
      'no-browser': { type: 'boolean' },
      'service-port': { type: 'string' },
      'state-dir': { type: 'string' }
    }
  });
  // Loaded when used: the service's modules (onnxruntime, SQLite) take a while, and --help needs none of them.
  const { Service } = await import('../service.js');
  const service = await Service.open({
    port: integer('service-port', values['service-port']),
    stateDir: values['state-dir'],
    token: process.env.NBDEPLOY_TOKEN
  });
  await service.start();
  console.error(`[nbdeploy] ${VERSION} serving on ${service.url} (state in ${service.options.stateDir})`);
  const code = await runLab(
    service,
    { port: integer('port', values.port) ?? 8888, openBrowser: !values['no-browser'], jupyterArgs, examples: 'examples' },
    (message) => console.error(`[nbdeploy] ${message}`)
  );
  await service.stop();
  process.exit(code);
}
