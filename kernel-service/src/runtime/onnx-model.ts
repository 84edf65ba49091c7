/**
 * One ONNX model loaded in onnxruntime-node — load, warm, predict, release. It runs inside
 * an inference worker thread (inference-worker.ts); the service's event loop never calls it.
 */
import ort from 'onnxruntime-node';
import { ServiceError } from '../errors.js';
import { type Tensor, DATATYPE_INFO, datatypeOfOrt, elementCount } from '../protocol/datatypes.js';
import { type Signature, signatureFromOrt } from './signature.js';

export interface RuntimeOptions {
  /** Threads onnxruntime uses inside one run; 1 suits many small concurrent requests. */
  intraOpThreads: number;
}

export class OnnxModel {
  private constructor(
    private readonly _session: ort.InferenceSession,
    readonly signature: Signature
  ) {}

  /** Loads the model file; external data resolves beside it. */
  static async load(file: string, options: RuntimeOptions): Promise<OnnxModel> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all'
      });
    } catch (error) {
      throw new ServiceError('NBD_ERR_MODEL_INVALID', { reason: cleanOrtMessage(error) });
    }
    try {
      return new OnnxModel(session, signatureFromOrt(session.inputMetadata, session.outputMetadata));
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** Runs the model on checked inputs (in signature order); returns the named outputs. */
  async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      feeds[t.name] = new ort.Tensor(DATATYPE_INFO[t.datatype].ort, t.data as never, t.shape);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this._session.run(feeds, outputNames as string[]);
    } catch (error) {
      throw new Error(cleanOrtMessage(error));
    }
    return outputNames.map((name) => fromOrt(name, results[name]!));
  }

  /**
   * One run on zeros with a batch of one, so the first real request does not pay for it.
   * Some valid models cannot run on zeros (a shape read from an input, a sequence); the
   * caller logs the failure and serves the model anyway.
   */
  async warm(): Promise<void> {
    const inputs = this.signature.inputs.map((spec): Tensor => {
      const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
      const n = elementCount(shape);
      const ctor = DATATYPE_INFO[spec.datatype].array;
      return { name: spec.name, datatype: spec.datatype, shape, data: ctor ? new ctor(n) : new Array<string>(n).fill('') };
    });
    await this.run(inputs, this.signature.outputs.map((o) => o.name));
  }

  async release(): Promise<void> {
    await this._session.release();
  }
}

function fromOrt(name: string, value: ort.Tensor): Tensor {
  const datatype = datatypeOfOrt(value.type);
  if (!datatype) {
    throw new Error(`output "${name}" has type ${value.type}, which the Open Inference Protocol cannot carry`);
  }
  return { name, datatype, shape: value.dims.map(Number), data: value.data as Tensor['data'] };
}

/** onnxruntime prefixes its messages with internal file and line details. */
function cleanOrtMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '').trim();
}
