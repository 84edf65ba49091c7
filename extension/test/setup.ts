// jsdom has no DragEvent, which @lumino/dragdrop (imported by @lumino/widgets) extends
// when it loads; JupyterLab's own test setup (@jupyterlab/testing) shims it the same way.
if (typeof globalThis.DragEvent === 'undefined' && typeof MouseEvent !== 'undefined') {
  class DragEvent extends MouseEvent {
    readonly dataTransfer: DataTransfer | null = null;
  }
  globalThis.DragEvent = DragEvent as typeof globalThis.DragEvent;
}

// jsdom has no matchMedia, which @jupyterlab/ui-components' design system (loaded with
// @jupyterlab/apputils: dialogs, notifications) calls when it loads; @jupyterlab/testing
// shims it the same way.
if (typeof window !== 'undefined' && typeof window.matchMedia !== 'function') {
  window.matchMedia = (query: string): MediaQueryList =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false
    }) as MediaQueryList;
}

// Nor requestIdleCallback, which JupyterLab's React widgets (the dialogs' buttons) render with.
if (typeof window !== 'undefined' && typeof window.requestIdleCallback !== 'function') {
  window.requestIdleCallback = (callback: IdleRequestCallback): number =>
    window.setTimeout(() => callback({ didTimeout: false, timeRemaining: () => 0 }), 0);
  window.cancelIdleCallback = (handle: number): void => window.clearTimeout(handle);
}
