/**
 * The control plane for CI pipelines, against a running service over `/ws`:
 * `models`, `promote`, `canary`, `rollback`, `undeploy`, `audit` (cli/remote.ts has what they share).
 */
import { auditCells, auditRows } from '../notebook/audit.js';
import { AuditReply, ModelReply, ModelsReply } from '../notebook/replies.js';
import { AUDIT_VERIFY_USAGE, verifyAudit } from './audit-verify.js';
import { type Command, UsageError, integer, parseCommandLine } from './command.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, changeDeployment, describeModels, positionals, versionArgument, withService } from './remote.js';
import { formatTable } from './table.js';

function parseRemote<E extends Record<string, { type: 'string' }>>(args: string[], extra: E = {} as E) {
  return parseCommandLine({ args, strict: true, allowPositionals: true, options: { ...REMOTE_OPTIONS, ...extra } });
}

export const models: Command = {
  name: 'models',
  summary: 'list the registered models and their versions, stages and traffic',
  usage: `usage: nbdeploy models [MODEL] [options]

Lists every model (or MODEL) with its versions: stage, share of the traffic, validation,
review, when and by whom it was registered.

options:
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseRemote(args);
    const [model] = positionals(given, ['MODEL'], 0);
    await withService('models', values, async (client) => {
      const found = model === undefined ? (await client.request({ type: 'list' }, ModelsReply)).reply.models : [(await client.request({ type: 'get_model', model }, ModelReply)).reply.model];
      return { json: { models: found }, text: describeModels(found) };
    });
  }
};

export const promote: Command = {
  name: 'promote',
  summary: 'make a version production (the validation gate applies)',
  usage: `usage: nbdeploy promote MODEL VERSION [--override REASON] [options]

Makes VERSION of MODEL the production version: loaded and warmed first, then it takes the
traffic in one step. Refused (exit 1, with the service's reason) unless the version's latest
validation report passed and no reviewer requested changes, or --override gives a reason,
which the audit log keeps.

options:
  --override REASON        promote without a passing validation report
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseRemote(args, { override: { type: 'string' } });
    const [model, raw] = positionals(given, ['MODEL', 'VERSION']);
    const message: Record<string, unknown> & { type: string } = { type: 'promote', model, version: versionArgument('VERSION', raw) };
    if (values.override !== undefined) {
      if (!values.override.trim()) throw new UsageError('--override needs a reason, e.g. --override "hotfix approved by the on-call lead"');
      message.override = values.override;
    }
    await withService('promote', values, (client) => changeDeployment(client, message));
  }
};

export const canary: Command = {
  name: 'canary',
  summary: 'send a share of a model\'s traffic to a version (0 ends the canary)',
  usage: `usage: nbdeploy canary MODEL VERSION PERCENT [options]

Sends PERCENT (0–100) of MODEL's traffic to VERSION, the rest to production; 0 ends the
canary. Needs a production version.

options:
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseRemote(args);
    const [model, raw, rawPercent] = positionals(given, ['MODEL', 'VERSION', 'PERCENT']);
    const percent = Number(rawPercent);
    if (rawPercent!.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new UsageError(`PERCENT must be a number from 0 to 100, got "${rawPercent}"`);
    }
    const message = { type: 'set_canary', model, version: versionArgument('VERSION', raw), percent };
    await withService('canary', values, (client) => changeDeployment(client, message));
  }
};

export const rollback: Command = {
  name: 'rollback',
  summary: 'go back to the previous production version',
  usage: `usage: nbdeploy rollback MODEL [options]

Makes the previous production version of MODEL production again; the current one is
archived. Refused (exit 1) when there is no earlier production version.

options:
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseRemote(args);
    const [model] = positionals(given, ['MODEL']);
    await withService('rollback', values, (client) => changeDeployment(client, { type: 'rollback', model }));
  }
};

export const undeploy: Command = {
  name: 'undeploy',
  summary: 'stop serving a model (or archive one of its versions)',
  usage: `usage: nbdeploy undeploy MODEL [VERSION] [options]

Without VERSION: MODEL stops being served (its versions and history stay; promote or load
it to serve it again). With VERSION: that version is archived (not production).

options:
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseRemote(args);
    const [model, raw] = positionals(given, ['MODEL', 'VERSION'], 1);
    const message: Record<string, unknown> & { type: string } = { type: 'undeploy', model };
    if (raw !== undefined) message.version = versionArgument('VERSION', raw);
    await withService('undeploy', values, (client) => changeDeployment(client, message));
  }
};

export const audit: Command = {
  name: 'audit',
  summary: 'print the audit log (who changed what, when), newest first; `audit verify` checks its hash chain',
  usage: `usage: nbdeploy audit [MODEL] [--limit N] [options]

Prints the audit log of every model (or MODEL), newest first: when, who, from which
notebook and cell, what, and the details (an override's reason, a rollback's versions).

options:
  --limit N                at most N entries (default: the service's, 100)
${REMOTE_USAGE}

${AUDIT_VERIFY_USAGE}
`,
  run: async (args) => {
    if (args[0] === 'verify') return verifyAudit(args.slice(1));
    const { values, positionals: given } = parseRemote(args, { limit: { type: 'string' } });
    const [model] = positionals(given, ['MODEL'], 0);
    const message: Record<string, unknown> & { type: string } = { type: 'audit' };
    if (model !== undefined) message.model = model;
    const limit = integer('limit', values.limit);
    if (limit !== undefined) message.limit = limit;
    await withService('audit', values, async (client) => {
      const { entries } = (await client.request(message, AuditReply)).reply;
      const rows = auditRows(entries).map(auditCells);
      const text = rows.length ? formatTable(['AT', 'WHO', 'ACTION', 'MODEL', 'VERSION', 'NOTEBOOK', 'CELL', 'DETAILS'], rows) : 'no audit entries\n';
      return { json: { entries }, text };
    });
  }
};
