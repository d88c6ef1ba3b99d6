/** Strings of the auditor pages. */
export const zh = {
  'nav.auditor.home': 'auditor',
} as const;

export const en: Record<keyof typeof zh, string> = {
  'nav.auditor.home': 'auditor',
};
