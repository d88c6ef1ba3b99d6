/** Strings of the operator pages. */
export const zh = {
  'nav.operator.home': 'operator',
} as const;

export const en: Record<keyof typeof zh, string> = {
  'nav.operator.home': 'operator',
};
