import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['kernel-service/test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000
        }
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // These start real `nbdeploy serve` processes (built into lib/ by `make build`).
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: 'extension',
          include: ['extension/test/**/*.test.ts'],
          // The JupyterLab extension's renderers, in a DOM without a browser.
          environment: 'jsdom',
          setupFiles: ['extension/test/setup.ts'],
          // JupyterLab's dialogs and notifications load @jupyter/web-components, whose ES
          // modules import files without extensions (as bundlers allow, Node does not): Vite
          // transforms them instead of Node loading them.
          server: { deps: { inline: [/@jupyter\/web-components/, /@jupyter\/react-components/] } }
        }
      }
    ]
  }
});
