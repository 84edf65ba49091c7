import { describe, expect, it } from 'vitest';

import pkg from '../../package.json';

// The extension's sources, as text (Vite reads them at transform time).
const sources = import.meta.glob<string>('../src/**/*.ts', { query: '?raw', import: 'default', eager: true });

/** The npm packages the extension's sources import. */
function importedPackages(): Set<string> {
  const names = new Set<string>();
  for (const text of Object.values(sources)) {
    for (const [, specifier] of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^'.][^']*)'/gm)) {
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return names;
}

describe('package.json', () => {
  // The root package is both the Node service and the labextension: @jupyter/builder
  // shares (and so bundles) every dependency unless `jupyterlab.sharedPackages` says
  // `false`. A service dependency left out of that list would be bundled for the browser
  // (or break the build, for native ones like better-sqlite3).
  it('should keep every dependency the extension does not import out of the labextension', () => {
    const imported = importedPackages();
    const shared = pkg.jupyterlab.sharedPackages as Record<string, unknown>;
    const serviceOnly = Object.keys(pkg.dependencies).filter(name => !imported.has(name));
    expect(serviceOnly.filter(name => shared[name] !== false)).toEqual([]);
    expect([...imported].filter(name => shared[name] === false)).toEqual([]);
  });

  it('should declare every package the extension imports', () => {
    const declared = new Set(Object.keys(pkg.dependencies));
    expect([...importedPackages()].filter(name => !declared.has(name))).toEqual([]);
    expect(importedPackages()).toContain('@lumino/widgets');
  });
});
