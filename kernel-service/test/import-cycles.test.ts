/**
 * The service's modules import one another without circles (type-only imports included):
 * data flows one way (transport → serving → runtime; serving → monitoring), and view types
 * that several modules share live in their own files. A circle that comes back fails here,
 * naming the files on it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []
  );
}

/** Relative imports and re-exports of a file (static `import`/`export … from`, and `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]/g)) found.add(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.add(m[1]!);
  return [...found].map((spec) => path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
}

/** Every elementary circle's files, found by depth-first search (each circle once, from its smallest file). */
function importCycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
  const cycles = new Map<string, string[]>();
  const visit = (start: string, node: string, pathSoFar: string[]): void => {
    for (const next of graph.get(node) ?? []) {
      if (next === start) {
        const cycle = [...pathSoFar];
        const key = [...cycle].sort().join('|');
        if (!cycles.has(key)) cycles.set(key, cycle);
      } else if (next > start && !pathSoFar.includes(next)) {
        visit(start, next, [...pathSoFar, next]);
      }
    }
  };
  for (const f of [...graph.keys()].sort()) visit(f, f, [f]);
  return [...cycles.values()].map((c) => c.map((f) => path.relative(SRC, f)));
}

describe('imports', () => {
  it('should form no circle among the service modules', () => {
    expect(importCycles(sourceFiles(SRC))).toEqual([]);
  });
});
