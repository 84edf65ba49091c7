import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderArtifactStore, MODEL_FILE } from '../src/registry/artifact-store.js';

const tempRoot = () => mkdtempSync(path.join(os.tmpdir(), 'nbd-artifacts-'));

describe('FolderArtifactStore', () => {
  it('should key an artifact by the sha256 of its model bytes', async () => {
    const store = new FolderArtifactStore(tempRoot());
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('onnx')]]));
    expect(staged.sha256).toBe(createHash('sha256').update('onnx').digest('hex'));
    expect(staged.key).toBe(staged.sha256);
    await store.commit(staged);
    expect(readFileSync(path.join(await store.localFolder(staged.key), MODEL_FILE), 'utf8')).toBe('onnx');
  });

  it('should refuse a key it has no artifact under, naming it', async () => {
    const store = new FolderArtifactStore(tempRoot());
    const staged = await store.stage(new Map([[MODEL_FILE, Buffer.from('staged only')]]));
    await expect(store.localFolder(staged.key)).rejects.toThrow(`no artifact "${staged.key}"`);
    await expect(store.localFolder(path.basename(staged.folder))).rejects.toThrow('no artifact');
  });

  it('should key a model with external data by all of its files', async () => {
    const store = new FolderArtifactStore(tempRoot());
    const a = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('1')]]));
    const b = await store.stage(new Map([[MODEL_FILE, Buffer.from('m')], ['w.bin', Buffer.from('2')]]));
    expect(a.sha256).toBe(b.sha256);
    expect(a.key).not.toBe(b.key);
  });

  it('should keep the first copy when the same artifact is committed twice', async () => {
    const root = tempRoot();
    const store = new FolderArtifactStore(root);
    const files = new Map([[MODEL_FILE, Buffer.from('same')]]);
    const first = await store.stage(files);
    await store.commit(first);
    const second = await store.stage(files);
    await store.commit(second);
    expect(second.key).toBe(first.key);
    expect(readdirSync(root)).toEqual([first.key]);
  });

  it('should sweep temporary and unreferenced folders', async () => {
    const root = tempRoot();
    const store = new FolderArtifactStore(root);
    const kept = await store.stage(new Map([[MODEL_FILE, Buffer.from('kept')]]));
    await store.commit(kept);
    await store.stage(new Map([[MODEL_FILE, Buffer.from('interrupted')]]));
    mkdirSync(path.join(root, 'orphan'));
    expect(await store.sweep(new Set([kept.key]))).toHaveLength(2);
    expect(readdirSync(root)).toEqual([kept.key]);
    expect(existsSync(path.join(await store.localFolder(kept.key), MODEL_FILE))).toBe(true);
  });

  it("should leave the temporary folder of another live process (a replica registering now), not a dead one's", async () => {
    const root = tempRoot();
    const store = new FolderArtifactStore(root);
    // The test runner's parent is alive; pid 2^22 + 1 is above Linux's pid_max, so never alive.
    const live = `.tmp-${process.ppid}-0011223344556677`;
    const dead = `.tmp-${2 ** 22 + 1}-8899aabbccddeeff`;
    mkdirSync(path.join(root, live));
    mkdirSync(path.join(root, dead));
    expect(await store.sweep(new Set())).toEqual([dead]);
    expect(readdirSync(root)).toEqual([live]);
  });
});
