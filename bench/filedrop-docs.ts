/**
 * The file-drop benchmark's section of docs/benchmarks.md lives between two markers, so the HTTP
 * benchmark (report.ts), which rewrites the whole file, can carry it over, and this benchmark can
 * replace it without touching the rest.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FILEDROP_START = '<!-- filedrop:start -->';
export const FILEDROP_END = '<!-- filedrop:end -->';
export const BENCHMARKS_MD = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

/** The section, markers included, or undefined when the document has none (or only half of one). */
export function filedropSectionOf(doc: string): string | undefined {
  const start = doc.indexOf(FILEDROP_START);
  const end = doc.indexOf(FILEDROP_END, start);
  return start < 0 || end < 0 ? undefined : doc.slice(start, end + FILEDROP_END.length);
}

/** `doc` with `section` (markers included) in place of its section, or appended when it has none. */
export function withFiledropSection(doc: string, section: string): string {
  const current = filedropSectionOf(doc);
  if (current !== undefined) return doc.replace(current, () => section);
  return `${doc.replace(/\s*$/, '')}\n\n${section}\n`;
}

/** Another benchmark's section by name (`<!-- name:start -->` … `<!-- name:end -->`), markers included. */
export function sectionOf(doc: string, name: string): string | undefined {
  const [open, close] = [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
  const start = doc.indexOf(open);
  const end = doc.indexOf(close, start);
  return start < 0 || end < 0 ? undefined : doc.slice(start, end + close.length);
}

/** `doc` with the named section replaced by `section` (markers included), or appended. */
export function withSection(doc: string, name: string, section: string): string {
  const current = sectionOf(doc, name);
  if (current !== undefined) return doc.replace(current, () => section);
  return `${doc.replace(/\s*$/, '')}\n\n${section}\n`;
}

/** Sections other benchmarks of `npm run bench` write into docs/benchmarks.md. */
const CARRIED = ['resilience', 'filedrop'] as const;

/** For report.ts: the HTTP benchmark's new document, keeping the other benchmarks' sections docs/benchmarks.md has now. */
export function keepFiledropSection(doc: string, path = BENCHMARKS_MD): string {
  let previous: string;
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    return doc;
  }
  let out = doc;
  for (const name of CARRIED) {
    const section = sectionOf(previous, name);
    if (section !== undefined) out = withSection(out, name, section);
  }
  return out;
}
