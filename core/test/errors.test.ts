import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, TongxiangError, formatMessage } from '../errors.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  for (const [code, def] of Object.entries(ERRORS)) {
    it(`${code} has a Chinese and an English message with the same placeholders`, () => {
      expect(def.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(def.en).toMatch(/^[\x20-\x7e]+$/);
      expect(placeholders(def.zh)).toEqual(placeholders(def.en));
      expect(def.status).toBeGreaterThanOrEqual(400);
    });

    it(`${code} is documented in docs/errors.md`, () => {
      expect(doc).toContain(`| \`${code}\` | ${def.status} |`);
    });
  }

  it('fills placeholders and keeps unknown ones visible', () => {
    expect(formatMessage('数据源“{source}”({reason})', { source: 'A' })).toBe('数据源“A”({reason})');
  });

  it('carries code, both messages and fields into extensions, never the cause', () => {
    const error = new TongxiangError('UPSTREAM_UNAVAILABLE', { source: 'S', reason: 'timeout' }, { cause: new Error('secret-url') });
    const ext = error.toExtensions();
    expect(ext).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'S', reason: 'timeout' });
    expect(ext.messageZh).toContain('S');
    expect(ext.messageEn).toContain('timeout');
    expect(JSON.stringify(ext)).not.toContain('secret-url');
  });
});
