import type { ComponentType } from 'react';
import type { MessageKey } from '../i18n/index.tsx';
import type { Role } from '../session.tsx';

/** One page of the console: its path below /console, its label, who sees it. */
export interface PageDef {
  /** e.g. /developer/catalogue */
  readonly path: string;
  readonly label: MessageKey;
  readonly roles: readonly Role[];
  readonly component: ComponentType;
}

/** A group of pages in the navigation (one per role area). */
export interface AreaDef {
  readonly label: MessageKey;
  readonly roles: readonly Role[];
  readonly pages: readonly PageDef[];
}
