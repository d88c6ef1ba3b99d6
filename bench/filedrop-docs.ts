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

/** For report.ts: the HTTP benchmark's new document, keeping the file-drop section docs/benchmarks.md has now. */
export function keepFiledropSection(doc: string, path = BENCHMARKS_MD): string {
  let previous: string;
  try {
    previous = readFileSync(path, 'utf8');
  } catch {
    return doc;
  }
  const section = filedropSectionOf(previous);
  return section === undefined ? doc : withFiledropSection(doc, section);
}
