/**
 * `register`: an ONNX file (or its bytes) into the registry as a new version, with
 * nbdeploy's signature read from the model, an optional training profile from sample rows
 * (and, with their labels, the training metrics), and the model card — the metadata the
 * Python bridge's `nd.export` records, so the version reads the same from Python, the
 * extension and the service's monitoring. The sample runs through the model here, in
 * onnxruntime (as the service will run it), for the prediction profile.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxModel } from '../runtime/onnx-model.js';
import type { NotebookClient } from './client.js';
import { InputError } from './errors.js';
import { classificationScores, type Metrics, regressionScores } from '../validation/metrics.js';
import { readOutputs } from '../validation/model-outputs.js';
import { describe, type Profile, profileRows } from './profile.js';
import { Registered } from './replies.js';
import { buildInputs, checkRows, type Rows } from './rows.js';
import { type ClassLabel, readSignature, type SignatureOptions } from './signature.js';
import type { ModelArtifact, ModelCard } from './types.js';

/** Rows of the sample the model runs on for the prediction profile and training metrics. */
const PROFILE_ROWS = 10_000;

export interface RegisterOptions extends SignatureOptions {
  /** The model's name in the registry. */
  name: string;
  /** Rows like the training data (arrays or records): the training profile that drift is measured against. */
  sample?: Rows;
  /** The sample's true labels (or values): the label profile and the training metrics. */
  labels?: readonly ClassLabel[];
  /** Features to profile as categories even when their values are numbers. */
  categorical?: string[];
  /** The model card: owner, intended_use, training_data, personal_data. */
  card?: ModelCard;
  /** Dynamic batching for the version (docs/protocol.md). */
  batching?: { max_batch_size?: number; max_queue_delay_us?: number; instances?: number; max_queue_size?: number };
}

async function loadLocally(model: string | Uint8Array, bytes: Uint8Array): Promise<OnnxModel> {
  if (typeof model === 'string') return OnnxModel.load(model, { intraOpThreads: 1 });
  const folder = await mkdtemp(path.join(os.tmpdir(), 'nbdeploy-register-'));
  try {
    const file = path.join(folder, 'model.onnx');
    await writeFile(file, bytes);
    return await OnnxModel.load(file, { intraOpThreads: 1 });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

export async function register(client: NotebookClient, model: string | Uint8Array, options: RegisterOptions): Promise<ModelArtifact> {
  if (!options || typeof options.name !== 'string' || !options.name) {
    throw new InputError('register needs the model\'s name: nd.register("model.onnx", { name: "churn" })');
  }
  let bytes: Uint8Array;
  if (typeof model === 'string') {
    try {
      bytes = await readFile(path.resolve(model));
    } catch {
      throw new InputError(`no ONNX file at ${path.resolve(model)}`);
    }
  } else if (model instanceof Uint8Array) {
    bytes = model;
  } else {
    throw new InputError('register takes an ONNX file path or its bytes (a Uint8Array or Buffer)');
  }
  let local: OnnxModel;
  try {
    local = await loadLocally(model, bytes);
  } catch (error) {
    throw new InputError(`onnxruntime cannot load the model: ${(error as Error).message}`);
  }
  try {
    // a matrix model's feature names: given, else the sample records' keys (in their order)
    const first = options.sample?.[0];
    const featureNames = options.featureNames ?? (first && !Array.isArray(first) ? Object.keys(first) : undefined);
    const signature = readSignature(bytes, local.signature, { ...options, featureNames });
    let profile: Profile | null = null;
    let trainingMetrics: Metrics = {};
    if (options.sample) {
      const sample = checkRows(options.sample, 'the sample');
      if (options.labels && options.labels.length !== sample.length) {
        throw new InputError(`the sample has ${sample.length} rows but ${options.labels.length} labels; give one label per row`);
      }
      const categorical = new Set([...signature.inputs.filter((i) => i.datatype === 'BYTES').map((i) => i.name), ...(options.categorical ?? [])]);
      profile = profileRows(sample, signature.layout === 'columns' ? null : signature.feature_names, categorical);
      const head = sample.slice(0, PROFILE_ROWS);
      const run = readOutputs(signature, await local.run(buildInputs(signature, head), signature.outputs));
      const classifier = signature.task === 'classification';
      if (classifier && run.labels) profile.prediction = describe(run.labels.map(String), true);
      else if (run.values) profile.prediction = describe((run.values as unknown[]).flat() as number[], false);
      if (options.labels) {
        const labels = [...options.labels];
        profile.label = classifier ? describe(labels.map(String), true) : describe(labels.map(Number), false);
        const full = head.length === sample.length ? run : readOutputs(signature, await local.run(buildInputs(signature, sample), signature.outputs));
        trainingMetrics = classifier
          ? classificationScores(labels, full.labels ?? [], full.scores, signature.classes ?? [])
          : regressionScores(labels.map(Number), (full.values ?? []) as number[]);
      }
    }
    const card: ModelCard = { ...(options.card ?? {}) };
    const metadata = {
      nbdeploy: {
        signature,
        training_metrics: trainingMetrics,
        parity: { checked: false, detail: 'registered as ONNX: no native model to compare with' },
        lineage: {
          source: 'typescript notebook',
          file: typeof model === 'string' ? path.resolve(model) : null,
          node: process.version,
          created_at: new Date().toISOString()
        },
        card
      }
    };
    const message: Record<string, unknown> & { type: string } = { type: 'register', model: options.name, metadata };
    if (profile) message.profile = profile;
    if (options.batching) message.batching = options.batching;
    const { reply } = await client.request(message, Registered, [bytes]);
    return {
      name: options.name,
      version: reply.version,
      sha256: reply.sha256,
      created: reply.created,
      signature,
      profile,
      training_metrics: trainingMetrics,
      card
    };
  } finally {
    await local.release();
  }
}
