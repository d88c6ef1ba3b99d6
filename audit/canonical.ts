/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme) — the bytes every hash of the audit
 * trail is computed over, so any implementation can recompute them. `canonicalize` is the
 * reference implementation by the RFC's author.
 *
 * RFC 8785 serialises strings and numbers exactly as ECMAScript's JSON.stringify does; what it
 * adds is the order of object keys (UTF-16 code units). So a value made only of plain objects
 * whose keys already come in that order, arrays, well-formed strings, finite numbers, booleans
 * and null is its own canonical form under `JSON.stringify`, which is native and several times
 * faster. The hub builds its records that way; anything else (unsorted or integer-like keys,
 * `toJSON`, undefined, NaN, lone surrogates, deep or cyclic values) goes to `canonicalize`.
 */
import canonicalize from 'canonicalize';
import { TongxiangError } from '../core/index.ts';

/** Deeper than this, the fast path gives up and the reference implementation decides (cycles too). */
const FAST_DEPTH = 32;

/** True when `JSON.stringify(value)` already is the canonical text of `value`. */
function stringifiesCanonically(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'number':
      // -0 is written "0": it would not read back as itself.
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (checkedFrozen.has(value)) return true;
  if (depth >= FAST_DEPTH) return false;
  // Frozen, and every object inside frozen and checked: it can never change, so it is remembered.
  let frozen = Object.isFrozen(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (!(i in value) || !stringifiesCanonically(item, depth + 1)) return false;
      if (frozen && typeof item === 'object' && item !== null && !checkedFrozen.has(item)) frozen = false;
    }
    if (frozen && hasOnlyDataProperties(value)) checkedFrozen.add(value);
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  // Object.keys lists own keys in the order JSON.stringify writes them (integer-like keys first,
  // ascending, which is not code-unit order: such objects fail the check and take the slow path).
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0 && !(keys[i - 1]! < key)) return false;
    if (!key.isWellFormed()) return false;
    const item = (value as Record<string, unknown>)[key];
    if (!stringifiesCanonically(item, depth + 1)) return false;
    if (frozen && typeof item === 'object' && item !== null && !checkedFrozen.has(item)) frozen = false;
  }
  if (frozen && hasOnlyDataProperties(value)) checkedFrozen.add(value);
  return true;
}

/**
 * Frozen plain objects and arrays already found in canonical shape whose nested objects are all
 * in here too: deep-frozen, so checking them again would find the same. A frozen object can still
 * have a getter answering differently each time: only objects of data properties are kept.
 */
const checkedFrozen = new WeakSet<object>();

function hasOnlyDataProperties(value: object): boolean {
  const descriptors = Object.getOwnPropertyDescriptors(value);
  for (const key of Reflect.ownKeys(descriptors)) {
    if (!('value' in (descriptors as Record<PropertyKey, PropertyDescriptor>)[key]!)) return false;
  }
  return true;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    if (!Object.isFrozen(value)) Object.freeze(value);
  }
  return value;
}

/** The canonical JSON text of `value`; refuses what JSON cannot carry (undefined, functions, NaN). */
export function canonicalJson(value: unknown): string {
  if (stringifiesCanonically(value, 0)) return JSON.stringify(value);
  return referenceCanonical(value);
}

/**
 * The canonical text of `value` and the value that text reads back as. When `value` already is in
 * canonical shape it is that value itself, frozen at the top (the caller hands it over and does not
 * change it afterwards); otherwise it is `JSON.parse(text)`, deep-frozen.
 */
export function canonicalForm<T>(value: T): { readonly text: string; readonly value: T } {
  if (stringifiesCanonically(value, 0)) {
    // Frozen at the top only: walking it again to freeze what is nested costs as much as the
    // check. The caller hands the value over and does not change it afterwards.
    return { text: JSON.stringify(value), value: Object.freeze(value) };
  }
  const text = referenceCanonical(value);
  return { text, value: deepFreeze(JSON.parse(text) as T) };
}

function referenceCanonical(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `not canonicalisable JSON: ${(error as Error).message}` });
  }
  if (text === undefined) throw new TongxiangError('BAD_USER_INPUT', { reason: 'not canonicalisable JSON: undefined' });
  return text;
}
