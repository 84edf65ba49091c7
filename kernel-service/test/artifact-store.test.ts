import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore, MODEL_FILE } from '../src/registry/artifact-store.js';

const tempRoot = () => mkdtempSync(path.join(os.tmpdir(), 'nbd-artifacts-'));

describe('ArtifactStore', () => {
  it('should key an artifact by the sha256 of its model bytes', async () => {
    const store = new ArtifactStore(tempRoot());
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('onnx')]]));
    expect(staged.sha256).toBe(createHash('sha256').update('onnx').digest('hex'));
    expect(staged.key).toBe(staged.sha256);
    await store.commit(staged);
    expect(readFileSync(store.modelPath(staged.key), 'utf8')).toBe('onnx');
  });

  it('should key a model with external data by all of its files', async () => {
    const store = new ArtifactStore(tempRoot());
    const a = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('1')]]));
    const b = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('2')]]));
    expect(a.sha256).toBe(b.sha256);
    expect(a.key).not.toBe(b.key);
  });

  it('should keep the first copy when the same artifact is committed twice', async () => {
    const root = tempRoot();
    const store = new ArtifactStore(root);
    const files = new Map([[MODEL_FILE, Buffer.from('same')]]);
    const first = await store.commit(await store.stage(files));
    const second = await store.commit(await store.stage(files));
    expect(second).toBe(first);
    expect(readdirSync(root)).toHaveLength(1);
  });

  it('should sweep temporary and unreferenced folders', async () => {
    const root = tempRoot();
    const store = new ArtifactStore(root);
    const kept = await store.stage(new Map([[MODEL_FILE, Buffer.from('kept')]]));
    await store.commit(kept);
    await store.stage(new Map([[MODEL_FILE, Buffer.from('interrupted')]]));
    mkdirSync(path.join(root, 'orphan'));
    expect(store.sweep(new Set([kept.key])).sort()).toHaveLength(2);
    expect(readdirSync(root)).toEqual([kept.key]);
    expect(existsSync(store.modelPath(kept.key))).toBe(true);
  });
});
