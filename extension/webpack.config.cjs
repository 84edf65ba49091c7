// Extra build configuration that @jupyter/builder merges into its own (package.json,
// `jupyterlab.webpackConfig`). The package's `main` is the Node service, which the
// builder would otherwise bundle as the federated module's './index' (and fail on its
// `node:` imports); JupyterLab only ever loads './extension', so it becomes an empty module.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      [path.resolve(__dirname, '..', 'lib', 'kernel-service', 'index.js')]: false
    }
  }
};
