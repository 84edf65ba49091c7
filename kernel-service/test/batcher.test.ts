import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/protocol/datatypes.js';
import { Batcher, QueueFullError } from '../src/serving/batcher.js';

const rows = (values: number[][]): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [values.length, values[0]!.length],
  data: Float32Array.from(values.flat())
});

/** A model that doubles its input and records the batch sizes it saw. */
function doubling(seen: number[], fail = false) {
  return async (inputs: Tensor[]): Promise<Tensor[]> => {
    seen.push(inputs[0]!.shape[0]!);
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error('kaput');
    const x = inputs[0]!;
    return [{ ...x, name: 'y', data: (x.data as Float32Array).map((v) => v * 2) }];
  };
}

describe('Batcher', () => {
  it('should run queued requests together and give each its own rows back', async () => {
    const seen: number[] = [];
    const batcher = new Batcher(doubling(seen), { maxBatchSize: 64, maxQueueDelayMicros: 0, maxConcurrentRuns: 1, maxQueueSize: 1000 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit([rows([[i, i + 0.5]])])));
    results.forEach((outputs, i) => {
      expect(outputs[0]!.shape).toEqual([1, 2]);
      expect(Array.from(outputs[0]!.data as Float32Array)).toEqual([2 * i, 2 * i + 1]);
    });
    expect(seen.reduce((a, b) => a + b, 0)).toBe(10);
    expect(seen.length).toBeLessThan(10);
  });

  it('should never put more than maxBatchSize rows in one run', async () => {
    const seen: number[] = [];
    const batcher = new Batcher(doubling(seen), { maxBatchSize: 4, maxQueueDelayMicros: 0, maxConcurrentRuns: 1, maxQueueSize: 1000 });
    await Promise.all(Array.from({ length: 6 }, () => batcher.submit([rows([[1], [2]])])));
    expect(seen.every((n) => n <= 4)).toBe(true);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('should fail every request of a failed batch with the error', async () => {
    const batcher = new Batcher(doubling([], true), { maxBatchSize: 8, maxQueueDelayMicros: 0, maxConcurrentRuns: 1, maxQueueSize: 1000 });
    const settled = await Promise.allSettled(Array.from({ length: 3 }, () => batcher.submit([rows([[1]])])));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const s of settled) expect((s as PromiseRejectedResult).reason.message).toBe('kaput');
  });

  it('should not mix requests whose trailing dimensions differ', async () => {
    const seen: number[] = [];
    const batcher = new Batcher(doubling(seen), { maxBatchSize: 64, maxQueueDelayMicros: 0, maxConcurrentRuns: 1, maxQueueSize: 1000 });
    const [a, b] = await Promise.all([batcher.submit([rows([[1, 2]])]), batcher.submit([rows([[1, 2, 3]])])]);
    expect(a[0]!.shape).toEqual([1, 2]);
    expect(b[0]!.shape).toEqual([1, 3]);
    expect(seen).toEqual([1, 1]);
  });

  it('should wait up to the queue delay for more requests', async () => {
    const seen: number[] = [];
    const batcher = new Batcher(doubling(seen), { maxBatchSize: 64, maxQueueDelayMicros: 20_000, maxConcurrentRuns: 1, maxQueueSize: 1000 });
    const first = batcher.submit([rows([[1]])]);
    await new Promise((r) => setTimeout(r, 2));
    const second = batcher.submit([rows([[2]])]);
    await Promise.all([first, second]);
    expect(seen).toEqual([2]);
  });

  it('should refuse a request past maxQueueSize at once, saying when to retry, and serve the queued ones', async () => {
    const seen: number[] = [];
    const batcher = new Batcher(doubling(seen), { maxBatchSize: 1, maxQueueDelayMicros: 0, maxConcurrentRuns: 1, maxQueueSize: 2 });
    const running = batcher.submit([rows([[1]])]);
    await new Promise((r) => setImmediate(r));
    const queued = [batcher.submit([rows([[2]])]), batcher.submit([rows([[3]])])];
    expect(batcher.queued).toBe(2);
    const refused = await batcher.submit([rows([[4]])]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect((refused as QueueFullError).queued).toBe(2);
    expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const answers = await Promise.all([running, ...queued]);
    expect(answers.map((a) => (a[0]!.data as Float32Array)[0])).toEqual([2, 4, 6]);
    expect(seen).toEqual([1, 1, 1]);
    // Room again once the queue drained.
    await expect(batcher.submit([rows([[5]])])).resolves.toHaveLength(1);
  });
});
