// jsdom has no DragEvent, which @lumino/dragdrop (imported by @lumino/widgets) extends
// when it loads; JupyterLab's own test setup (@jupyterlab/testing) shims it the same way.
if (typeof globalThis.DragEvent === 'undefined' && typeof MouseEvent !== 'undefined') {
  class DragEvent extends MouseEvent {
    readonly dataTransfer: DataTransfer | null = null;
  }
  globalThis.DragEvent = DragEvent as typeof globalThis.DragEvent;
}
