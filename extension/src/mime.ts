/**
 * The MIME types of nbdeploy's notebook outputs (docs/architecture.md, "Notebook MIME
 * types"). Each output also carries `text/plain` and a static fallback (`text/html`, or
 * `image/svg+xml` for the monitor chart), so our renderers rank ahead of both (see `RENDERER_RANK`).
 */

/**
 * A validation report: metrics with intervals, gates, comparisons with training and
 * production, slices, data checks, the governance checklist and reviews.
 * Payload: {@link IValidationReport} (`ValidationReport.to_dict()` in Python).
 */
export const VALIDATION_MIME_TYPE = 'application/vnd.nbdeploy.validation+json';

/**
 * A deployment: version, stage, traffic split, endpoint and usage snippets.
 * Payload: {@link IDeployment} (`Deployment.to_dict()` in Python).
 */
export const DEPLOYMENT_MIME_TYPE = 'application/vnd.nbdeploy.deployment+json';

/**
 * A live monitoring chart (Vega-Lite) for a deployment: live where the service is
 * reachable, the last snapshot everywhere else (it carries an `image/svg+xml` fallback).
 * Payload: {@link IMonitorPayload} (`nd.monitor`, the service's `monitor` reply).
 */
export const MONITOR_MIME_TYPE = 'application/vnd.nbdeploy.monitor+json';

/**
 * A replay: a candidate version on the traffic a deployment captured, beside what was served.
 * Payload: {@link IReplay} (`Replay.payload()` in Python).
 */
export const REPLAY_MIME_TYPE = 'application/vnd.nbdeploy.replay+json';

/**
 * An inspection: a drifted window's captured rows, one feature against its training profile
 * (a Vega-Lite chart), the drift test, integrity events and the features that moved together.
 * Payload: {@link IInspect} (the service's `inspect` reply's `report`; `Inspection` in Python).
 */
export const INSPECT_MIME_TYPE = 'application/vnd.nbdeploy.inspect+json';

/**
 * The rank of nbdeploy's renderers: ahead of `text/html` (50), which every nbdeploy
 * output also carries as a fallback for viewers without the extension.
 */
export const RENDERER_RANK = 40;
