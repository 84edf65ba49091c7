/**
 * The worker threads that run onnxruntime: one instance per worker, groups of instances,
 * and what happens when a worker stops. Real workers and real models (the worker script
 * runs from lib/, which `make build` writes before the tests).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import { type InstanceOptions, ModelInstance } from '../../src/runtime/model-instance.js';
import { InstanceGroup } from '../../src/serving/instance-group.js';
import { backendCase, backendTensors } from '../../../test/support/onnx-backend-data.js';
import { threadsAtNice } from '../../../test/support/thread-priority.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const model = (name: string): string => path.join(ROOT, 'test/fixtures/models', name);

const iris = (rows: number): Tensor => ({
  name: 'input',
  datatype: 'FP32',
  shape: [rows, 4],
  data: Float32Array.from({ length: rows * 4 }, (_, i) => [5.1, 3.5, 1.4, 0.2][i % 4]!)
});
const slowRows = (rows: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [rows, 64], data: new Float32Array(rows * 64).fill(1) });

/** Options that record the log and the number of live worker threads. */
function recording(): InstanceOptions & { lines: string[]; workers: () => number } {
  let workers = 0;
  const lines: string[] = [];
  return { intraOpThreads: 1, label: 'model "m" version 1', log: (line) => lines.push(line), onWorkers: (d) => (workers += d), lines, workers: () => workers };
}

const started: Array<{ release(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.release()));
});

async function start(file: string, options: InstanceOptions): Promise<ModelInstance> {
  const instance = await ModelInstance.start(file, options);
  started.push(instance);
  return instance;
}

/** Resolves once the instance's worker thread has been replaced and can run again. */
async function untilServing(instance: ModelInstance, inputs: () => Tensor[], outputs: string[]): Promise<Tensor[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await instance.run(inputs(), outputs);
    } catch (error) {
      if (attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

describe('ModelInstance', () => {
  it('should run a model in a worker thread and give the inputs back whole', async () => {
    const instance = await start(model('iris_classifier.onnx'), recording());
    expect(instance.signature.inputs.map((i) => i.name)).toEqual(['input']);
    const input = iris(3);
    const [label, probabilities] = await instance.run([input], ['label', 'probabilities']);
    expect(label!.shape).toEqual([3]);
    expect(probabilities!.shape).toEqual([3, 3]);
    expect([...(label!.data as BigInt64Array)]).toEqual([0n, 0n, 0n]);
    // The input's buffer went to the worker and came back: still readable for monitoring.
    expect(input.data.length).toBe(12);
    expect((input.data as Float32Array)[0]).toBeCloseTo(5.1, 5);
  });

  it('should copy an input that views part of a larger buffer, leaving the buffer alone', async () => {
    const instance = await start(model('iris_classifier.onnx'), recording());
    const frame = new Float32Array(16).fill(7);
    frame.set([5.1, 3.5, 1.4, 0.2], 4);
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 4], data: frame.subarray(4, 8) };
    const [label] = await instance.run([input], ['label']);
    expect([...(label!.data as BigInt64Array)]).toEqual([0n]);
    expect(frame.length).toBe(16);
    expect(frame[0]).toBe(7);
  });

  it('should refuse a model that cannot load, with no worker left running', async () => {
    const options = recording();
    const error = await ModelInstance.start(model('corrupt.onnx'), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('NBD_ERR_MODEL_INVALID');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(options.workers()).toBe(0);
  });

  it('should fail the runs of a worker that stops, with a clear error, and serve again from a new one', async () => {
    const options = recording();
    const instance = await start(model('slow_identity.onnx'), options);
    const first = instance.worker;
    const inFlight = [instance.run([slowRows(200)], ['y']), instance.run([slowRows(200)], ['y'])];
    await first.terminate();
    for (const outcome of await Promise.allSettled(inFlight)) {
      expect(outcome.status).toBe('rejected');
      expect(((outcome as PromiseRejectedResult).reason as Error).message).toMatch(
        /the worker thread running model "m" version 1 stopped \(exit code 1\) before answering; a new worker is loading the model/
      );
    }
    const [y] = await untilServing(instance, () => [slowRows(2)], ['y']);
    expect(y!.shape).toEqual([2, 64]);
    expect(instance.worker).not.toBe(first);
    expect(options.lines.some((l) => l.includes('its worker thread stopped (exit code 1); starting a new one'))).toBe(true);
    expect(options.workers()).toBe(1);
  });

  it('should stop restarting a worker that keeps stopping, and fail its runs at once saying why', async () => {
    const instance = await start(model('iris_classifier.onnx'), recording());
    for (let death = 1; death <= 4; death++) {
      await untilServing(instance, () => [iris(1)], ['label']);
      await instance.worker.terminate();
    }
    await expect(instance.run([iris(1)], ['label'])).rejects.toThrow(/out of service: its worker thread stopped 4 times within a minute/);
  });

  it('should serve a model whose warm-up run on zeros fails, and say so in the log', async () => {
    // ONNX's own test: Expand to a shape read from an input, which zeros make impossible.
    const options = recording();
    const name = 'test_expand_shape_model2';
    const instance = await start(path.join(backendCase(name), 'model.onnx'), options);
    expect(options.lines.join('\n')).toMatch(/a warm-up run on zeros failed .*; serving it anyway/);
    const [y] = await instance.run(backendTensors(name, 'input', ['X', 'shape']), ['Y']);
    const [expected] = backendTensors(name, 'output', ['Y']);
    expect(y!.shape).toEqual(expected!.shape);
    expect([...(y!.data as Float32Array)]).toEqual([...(expected!.data as Float32Array)]);
  });
});

describe('InstanceGroup', () => {
  it('should spread runs over its instances and shrink once the removed ones drain', async () => {
    const options = recording();
    const group = await InstanceGroup.start(model('slow_identity.onnx'), 3, options);
    started.push(group);
    expect(options.workers()).toBe(3);
    const runs = Array.from({ length: 6 }, () => group.run([slowRows(8)], ['y']));
    expect(group.instances.map((i) => i.pending)).toEqual([2, 2, 2]);
    const shrinking = group.resize(1);
    expect(group.size).toBe(1);
    const outputs = await Promise.all(runs);
    expect(outputs.every(([y]) => y!.shape[0] === 8)).toBe(true);
    await shrinking;
    expect(options.workers()).toBe(1);
  });

  it('should run background work on an instance of its own at low priority, and end it with the group', async () => {
    const options = recording();
    const group = await InstanceGroup.start(model('iris_classifier.onnx'), 1, options);
    started.push(group);
    const lowBefore = threadsAtNice(process.pid, 10);
    const [live] = await group.run([iris(2)], ['label']);
    const [background] = await group.runInBackground([iris(2)], ['label']);
    expect(Array.from(background!.data as BigInt64Array)).toEqual(Array.from(live!.data as BigInt64Array));
    expect(options.workers()).toBe(2);
    expect(threadsAtNice(process.pid, 10)).toBe(lowBefore + 1);
    expect(group.instances[0]!.pending).toBe(0);
    await group.release();
    expect(options.workers()).toBe(0);
    expect(threadsAtNice(process.pid, 10)).toBe(lowBefore);
    await expect(group.runInBackground([iris(1)], ['label'])).rejects.toThrow(/released/);
  });

  it('should keep none of a resize that cannot load every new instance', async () => {
    const options = recording();
    const group = await InstanceGroup.start(model('iris_classifier.onnx'), 1, options);
    started.push(group);
    const broken = await InstanceGroup.start(model('corrupt.onnx'), 2, options).catch((e: unknown) => e);
    expect((broken as ServiceError).code).toBe('NBD_ERR_MODEL_INVALID');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(options.workers()).toBe(1);
  });
});
