/**
 * The dictionaries: every key has a Chinese and an English text, the English has no Chinese left
 * in it, and both sides use the same placeholders (a `{name}` missing on one side would show
 * blank in that language).
 */
import { describe, expect, it } from 'vitest';
import * as auditor from '../src/i18n/auditor.ts';
import * as common from '../src/i18n/common.ts';
import * as developer from '../src/i18n/developer.ts';
import * as operator from '../src/i18n/operator.ts';
import * as owner from '../src/i18n/owner.ts';

const DICTIONARIES: Record<string, { zh: Record<string, string>; en: Record<string, string> }> = { common, developer, owner, auditor, operator };
const CJK = /[\u3400-\u9fff\uf900-\ufaff\u{20000}-\u{2ffff}]/u;
// The language switch names the other language in that language: 中文 on the English page.
const ENGLISH_MAY_HOLD_CHINESE = new Set(['lang.switch']);

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console dictionaries', () => {
  for (const [name, dict] of Object.entries(DICTIONARIES)) {
    it(`${name}: every key has a Chinese and an English text with the same placeholders`, () => {
      expect(Object.keys(dict.en).sort()).toEqual(Object.keys(dict.zh).sort());
      for (const [key, zh] of Object.entries(dict.zh)) {
        const en = dict.en[key]!;
        expect(zh.trim(), key).not.toBe('');
        expect(en.trim(), key).not.toBe('');
        expect(placeholders(en), key).toEqual(placeholders(zh));
      }
    });

    it(`${name}: the English texts hold no Chinese`, () => {
      const leftovers = Object.entries(dict.en).filter(([key, text]) => !ENGLISH_MAY_HOLD_CHINESE.has(key) && CJK.test(text));
      expect(leftovers).toEqual([]);
    });
  }

  it('no key is defined by two dictionaries (one would silently win)', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const [name, dict] of Object.entries(DICTIONARIES)) {
      for (const key of Object.keys(dict.zh)) {
        if (seen.has(key)) clashes.push(`${key}: ${seen.get(key)} and ${name}`);
        seen.set(key, name);
      }
    }
    expect(clashes).toEqual([]);
  });
});
