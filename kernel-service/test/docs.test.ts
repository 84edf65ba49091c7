/**
 * The docs stand on their own and name what is there: every relative link in README.md and
 * docs/ reaches a file of the repository (nothing outside it), and docs/architecture.md
 * names every module of the service, the Python bridge and the extension.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function files(folder: string, ext: RegExp): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f) && !f.split(path.sep).some((part) => part === 'labextension' || part === '__pycache__'))
    .map((f) => path.basename(f));
}

describe('docs', () => {
  it.each(DOCS)('should link only to files of the repository (%s)', (doc) => {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    expect(text).not.toMatch(/\.\.\/shared\//);
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // http:, https:, mailto:
      const resolved = path.resolve(path.dirname(path.join(ROOT, doc)), target!);
      expect(resolved.startsWith(ROOT + path.sep), `${doc} links to ${target}, outside the repository`).toBe(true);
      expect(existsSync(resolved), `${doc} links to ${target}, which does not exist`).toBe(true);
    }
  });

  it('should name every module in docs/architecture.md', () => {
    const architecture = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const modules = [
      ...files('kernel-service/src', /\.ts$/),
      // exporters/ is named as a folder (one module per library, described in its docstring)
      ...readdirSync(path.join(ROOT, 'python-bridge/nbdeploy')).filter((f) => f.endsWith('.py') && !f.startsWith('__')),
      ...files('extension/src', /\.ts$/)
    ];
    const missing = [...new Set(modules)].filter((name) => !architecture.includes(`\`${name}\``) && !architecture.includes(`/${name}\``));
    expect(missing).toEqual([]);
  });
});
