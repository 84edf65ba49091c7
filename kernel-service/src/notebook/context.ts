/** The notebook a change comes from, for the audit log, where Jupyter tells it (JupyterLab sets JPY_SESSION_NAME in kernels). */
export function notebookPath(env: NodeJS.ProcessEnv = process.env): string | null {
  return env.JPY_SESSION_NAME || env.NBDEPLOY_NOTEBOOK || null;
}

/** The message with the notebook it comes from, when Jupyter tells it. */
export function withContext<T extends Record<string, unknown>>(message: T): T & { context?: { notebook: string } } {
  const notebook = notebookPath();
  return notebook ? { ...message, context: { notebook } } : message;
}
