/**
 * Running rows through a model version in the service, in batches of binary tensors on
 * `/ws`, and reading the answers by the version's signature — python-bridge/nbdeploy/serving.py.
 * Request ids are `<request>#<row>`, so that `feedback` can name rows.
 */
import { randomUUID } from 'node:crypto';
import { type Tensor, tensorFromBytes, tensorToBytes } from '../protocol/datatypes.js';
import type { ModelView } from '../protocol/views.js';
import type { NotebookClient } from './client.js';
import { InputError } from './errors.js';
import { readOutputs } from '../validation/model-outputs.js';
import { InferResult, ModelReply } from './replies.js';
import { buildInputs, checkRows, type Rows } from './rows.js';
import type { ModelSignature } from './signature.js';
import type { Prediction } from './types.js';

export const BATCH_ROWS = 10_000;

/** nbdeploy's signature of each version (registered from Python or TypeScript), from the registry. */
export function signaturesOf(view: ModelView): Map<number, ModelSignature | null> {
  const out = new Map<number, ModelSignature | null>();
  for (const v of view.versions) {
    const meta = (v.metadata.nbdeploy ?? {}) as { signature?: ModelSignature };
    out.set(v.version, meta.signature ?? null);
  }
  return out;
}

export async function infer(
  client: NotebookClient,
  model: string,
  inputs: readonly Tensor[],
  options: { version?: number; requestId?: string; monitor?: boolean }
): Promise<{ version: number; outputs: Tensor[] }> {
  const message: Record<string, unknown> & { type: string } = {
    type: 'infer',
    model,
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }))
  };
  if (options.version !== undefined) message.version = options.version;
  if (options.requestId !== undefined) message.request_id = options.requestId;
  if (options.monitor === false) message.monitor = false;
  const { reply, payload } = await client.request(message, InferResult, inputs.map(tensorToBytes));
  const outputs: Tensor[] = [];
  let offset = 0;
  for (const header of reply.outputs) {
    const { tensor, used } = tensorFromBytes(header.name, header.datatype, header.shape, payload ?? Buffer.alloc(0), offset);
    outputs.push(tensor);
    offset += used;
  }
  return { version: Number(reply.model_version), outputs };
}

export async function predictRows(
  client: NotebookClient,
  model: string,
  rows: Rows,
  options: { version?: number; monitor?: boolean } = {}
): Promise<Prediction> {
  checkRows(rows);
  const view = (await client.request({ type: 'get_model', model }, ModelReply)).reply.model;
  const signatures = signaturesOf(view);
  if (options.version !== undefined && !signatures.has(options.version)) {
    throw new InputError(`model "${model}" has no version ${options.version}; it has ${[...signatures.keys()].join(', ')}`);
  }
  const live = view.versions.filter((v) => v.stage !== 'archived').map((v) => v.version);
  // Inputs follow the signature of the version that answers (versions of one model share inputs).
  const inputVersion = options.version ?? view.deployment.production ?? live[live.length - 1] ?? Math.max(...signatures.keys());
  const signature = signatures.get(inputVersion);
  if (!signature) {
    throw new InputError(`model "${model}" version ${inputVersion} was registered without nbdeploy's signature; register it with nd.register (TypeScript) or nd.export (Python)`);
  }
  const out: Prediction = { model, labels: null, scores: null, values: null, request_ids: [], versions: [] };
  for (let start = 0; start < rows.length; start += BATCH_ROWS) {
    const chunk = rows.slice(start, start + BATCH_ROWS);
    const request = randomUUID().replace(/-/g, '');
    const reply = await infer(client, model, buildInputs(signature, chunk), { version: options.version, requestId: request, monitor: options.monitor });
    const read = readOutputs(signatures.get(reply.version) ?? signature, reply.outputs);
    if (read.labels) out.labels = [...(out.labels ?? []), ...read.labels];
    if (read.scores) out.scores = [...(out.scores ?? []), ...read.scores];
    if (read.values) out.values = [...((out.values ?? []) as number[]), ...(read.values as number[])] as Prediction['values'];
    chunk.forEach((_, i) => {
      out.request_ids.push(`${request}#${i}`);
      out.versions.push(reply.version);
    });
  }
  return out;
}
