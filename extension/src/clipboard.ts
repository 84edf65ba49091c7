/**
 * Copying text for the copy buttons. The asynchronous Clipboard API needs a secure
 * context (https or localhost) and the page's permission; where it is missing or refused,
 * the older `execCommand('copy')` on a hidden text area still works in most browsers.
 */

/** Copies text to the system clipboard; resolves to whether that worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (no permission, insecure context): try the older way
  }
  return copyWithTextArea(text);
}

function copyWithTextArea(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  try {
    area.select();
    return typeof document.execCommand === 'function' && document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** Selects an element's text, so that a user whose browser refused to copy can press Ctrl+C. */
export function selectContents(node: Node): void {
  const selection = window.getSelection();
  if (!selection) {
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(node);
  selection.removeAllRanges();
  selection.addRange(range);
}
