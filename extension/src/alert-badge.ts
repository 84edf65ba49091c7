/**
 * The count of new alerts on the Models sidebar's tab: alerts that started firing since
 * the user last looked at the panel. Shown through the tab title's `data-nbdeploy-alerts`
 * attribute (drawn by style/models-panel.css) and its caption, cleared when the panel opens.
 */

import type { Title, Widget } from '@lumino/widgets';

/** The tab attribute that carries the count (Lumino's tab bar copies a title's dataset onto its tab). */
export const BADGE_ATTRIBUTE = 'nbdeploy-alerts';

export class AlertBadge {
  constructor(title: Title<Widget>, caption: string) {
    this._title = title;
    this._caption = caption;
  }

  /** Alerts not yet seen. */
  get count(): number {
    return this._count;
  }

  /** One more alert fired while the panel was not in view. */
  add(): void {
    this._count++;
    this._show();
  }

  /** The user looked at the panel. */
  clear(): void {
    if (this._count) {
      this._count = 0;
      this._show();
    }
  }

  private _show(): void {
    const dataset = { ...this._title.dataset };
    if (this._count) {
      dataset[BADGE_ATTRIBUTE] = String(this._count);
    } else {
      delete dataset[BADGE_ATTRIBUTE];
    }
    this._title.dataset = dataset;
    this._title.caption = this._count ? `${this._caption} — ${this._count} new alert${this._count === 1 ? '' : 's'}` : this._caption;
  }

  private readonly _title: Title<Widget>;
  private readonly _caption: string;
  private _count = 0;
}
