import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyExamples } from '../src/lab.js';

let temp: string;
afterEach(() => rmSync(temp, { recursive: true, force: true }));

describe('copyExamples', () => {
  it('should copy notebooks and data once, keep the working copies people changed, and leave the scripts', () => {
    temp = mkdtempSync(path.join(tmpdir(), 'nbdeploy-copy-'));
    const examples = path.join(temp, 'examples');
    const work = path.join(temp, 'my-notebooks');
    mkdirSync(examples);
    for (const name of ['quickstart.ipynb', 'data.json', 'make_quickstart.py']) writeFileSync(path.join(examples, name), `tracked ${name}`);

    expect(copyExamples(examples, work).sort()).toEqual(['data.json', 'quickstart.ipynb']);
    writeFileSync(path.join(work, 'quickstart.ipynb'), 'my work');
    expect(copyExamples(examples, work)).toEqual([]);
    expect(readFileSync(path.join(work, 'quickstart.ipynb'), 'utf8')).toBe('my work');
    expect(readFileSync(path.join(examples, 'quickstart.ipynb'), 'utf8')).toBe('tracked quickstart.ipynb');
  });
});
