/** Strings of the developer pages. */
export const zh = {
  'nav.developer.home': 'developer',
} as const;

export const en: Record<keyof typeof zh, string> = {
  'nav.developer.home': 'developer',
};
