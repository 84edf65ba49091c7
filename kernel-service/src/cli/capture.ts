/**
 * `nbdeploy capture`: how much of a deployment's served traffic the service keeps for
 * inspection and replay (the `set_capture` message), from a shell or a CI pipeline.
 */
import { DeploymentReply } from '../notebook/replies.js';
import { type Command, UsageError, parseCommandLine } from './command.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, describeModels, positionals, withService } from './remote.js';

export const capture: Command = {
  name: 'capture',
  summary: "keep a share of a model's served requests for inspection and replay (0 stops)",
  usage: `usage: nbdeploy capture MODEL RATE [--retention-days DAYS] [options]

Keeps RATE (a share from 0 to 1, e.g. 0.1) of MODEL's served requests — inputs, answers,
and shadow versions' answers — for DAYS (default 7); 0 stops keeping them (what was kept
stays until its retention ends). Features the model card flags as personal data are kept
only as salted hashes. Read them back with nd.captured() in a notebook.

options:
  --retention-days DAYS    how long each kept request stays (default 7)
${REMOTE_USAGE}
`,
  run: async (args) => {
    const { values, positionals: given } = parseCommandLine({
      args,
      strict: true,
      allowPositionals: true,
      options: { ...REMOTE_OPTIONS, 'retention-days': { type: 'string' } }
    });
    const [model, rawRate] = positionals(given, ['MODEL', 'RATE']);
    const rate = Number(rawRate);
    if (rawRate!.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new UsageError(`RATE is the share of requests kept, a number from 0 to 1 (e.g. 0.1), got "${rawRate}"`);
    }
    const rawDays = values['retention-days'];
    const days = rawDays === undefined ? 7 : Number(rawDays);
    if (!(Number.isFinite(days) && days > 0 && days <= 3650)) {
      throw new UsageError(`--retention-days must be a number of days above 0 (at most 3650), got "${rawDays}"`);
    }
    await withService('capture', values, async (client) => {
      const { reply } = await client.request({ type: 'set_capture', model, rate, retention_days: days }, DeploymentReply);
      const kept = reply.model.deployment.capture;
      const line = kept ? `${model} keeps ${kept.rate * 100}% of its requests for ${kept.retention_days} days\n` : `${model} keeps no requests\n`;
      return { json: { model: reply.model }, text: line + describeModels([reply.model]) };
    });
  }
};
