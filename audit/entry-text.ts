/**
 * The JSON text of a log entry, as stores write it (`JSON.stringify(entry)`). The writer already
 * holds a record's canonical text when it makes the entry, so it registers the entry's whole line
 * here and the store does not serialise the record a second time. The registered text must equal
 * `JSON.stringify(entry)` byte for byte (the writer builds it in the same key order).
 */
import type { LogEntry } from './types.ts';

const known = new WeakMap<LogEntry, string>();

export function registerEntryText(entry: LogEntry, text: string): void {
  known.set(entry, text);
}

export function entryText(entry: LogEntry): string {
  return known.get(entry) ?? JSON.stringify(entry);
}
