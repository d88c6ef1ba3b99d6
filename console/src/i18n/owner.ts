/** Strings of the owner pages. */
export const zh = {
  'nav.owner.home': 'owner',
} as const;

export const en: Record<keyof typeof zh, string> = {
  'nav.owner.home': 'owner',
};
