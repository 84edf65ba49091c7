/**
 * tslab compiles a notebook's cells to CommonJS, so `import * as nd from "nbdeploy/notebook"`
 * becomes require(): the notebook API's module graph must load that way — no top-level
 * await anywhere in it (vega's node build has one, so the API must not import the SVG
 * renderers). Checked on the build in lib/, as tslab loads it, in a fresh Node process.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the TypeScript notebook API', () => {
  it('should load with require(), as tslab loads it', () => {
    const entry = path.join(ROOT, 'lib/kernel-service/notebook/index.js');
    const out = execFileSync(process.execPath, ['-e', `const nd = require(${JSON.stringify(entry)}); console.log(typeof nd.inspect, typeof nd.deploy)`], {
      encoding: 'utf8'
    });
    expect(out.trim()).toBe('function function');
  });
});
