/** The ids of nbdeploy's commands (in the command palette under "nbdeploy"). */
export namespace CommandIDs {
  /** Shows the Models sidebar. */
  export const openModels = 'nbdeploy:open-models';
  /** Lists the models again. */
  export const refreshModels = 'nbdeploy:refresh-models';
  /** Makes a version production (args: model, version; asks when absent). */
  export const promote = 'nbdeploy:promote';
  /** Sends a share of traffic to a version (args: model, version, percent?). */
  export const setCanary = 'nbdeploy:set-canary';
  /** Mirrors traffic to a version, or stops (args: model, version, enabled?). */
  export const setShadow = 'nbdeploy:set-shadow';
  /** Keeps a share of a model's requests, or stops (args: model, rate? — a share in [0, 1], 0 stops — retention_days?; asks when rate is absent). */
  export const setCapture = 'nbdeploy:set-capture';
  /** Returns production to the previous production version (args: model). */
  export const rollback = 'nbdeploy:rollback';
  /** Archives a version, or stops serving the model (args: model, version?). */
  export const undeploy = 'nbdeploy:undeploy';
  /** Runs the current notebook's cells tagged `nbdeploy-validation`, in order. */
  export const runValidationCells = 'nbdeploy:run-validation-cells';
  /** Inserts and runs an `nd.export(...)` cell (args: model?). */
  export const insertExport = 'nbdeploy:insert-export';
  /** Inserts and runs an `nd.validate(...)` cell. */
  export const insertValidate = 'nbdeploy:insert-validate';
  /** Inserts and runs an `nd.deploy(...)` cell. */
  export const insertDeploy = 'nbdeploy:insert-deploy';
  /** Asks the current notebook's kernel for its exportable models again. */
  export const findExportable = 'nbdeploy:find-exportable-models';
}

/** The palette category of nbdeploy's commands. */
export const PALETTE_CATEGORY = 'nbdeploy';
