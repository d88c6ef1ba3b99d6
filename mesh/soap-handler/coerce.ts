/**
 * Values between GraphQL and the `soap` package: arguments in the schema's element order (an
 * xsd:sequence is ordered), and responses coerced to the declared types — numbers that arrive as
 * strings, one element where a list is declared, `{ $value }` wrappers of elements that carried
 * attributes. A value that does not fit its type is UPSTREAM_INVALID; the value itself is never
 * repeated in the reason (it may be personal data).
 */
import { SoapSourceError } from './errors.ts';
import type { FieldModel, ObjectModel, TypeModel } from './wsdl-model.ts';

type Objects = ReadonlyMap<string, ObjectModel>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function invalid(path: string, what: string): SoapSourceError {
  return new SoapSourceError('UPSTREAM_INVALID', `element ${path} is not ${what}`);
}

/** The text or primitive of a parsed element; undefined for an absent or nil element. */
function primitive(raw: unknown): unknown {
  if (raw === null || raw === undefined) return undefined;
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? undefined : raw.toISOString();
  if (typeof raw === 'object') {
    if ('$value' in raw) return primitive((raw as { $value: unknown }).$value);
    return Object.keys(raw).length === 0 ? '' : raw; // an empty element: <x/>
  }
  return raw;
}

function coerceScalar(type: Extract<TypeModel, { kind: 'scalar' }>, raw: unknown, path: string): unknown {
  const value = primitive(raw);
  if (value === undefined) return null;
  if (typeof value === 'object') throw invalid(path, `a simple ${type.xsd} value`);
  switch (type.scalar) {
    case 'String':
      return String(value);
    case 'Int': {
      if (value === '') return null;
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) throw invalid(path, `a 32-bit xsd:${type.xsd}`);
      return n;
    }
    case 'Float': {
      if (value === '') return null;
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isFinite(n)) throw invalid(path, `a finite xsd:${type.xsd}`);
      return n;
    }
    case 'Boolean': {
      if (typeof value === 'boolean') return value;
      const s = String(value).trim();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      if (s === '') return null;
      throw invalid(path, 'an xsd:boolean');
    }
  }
}

function coerceOne(type: TypeModel, raw: unknown, objects: Objects, path: string): unknown {
  if (type.kind === 'scalar') return coerceScalar(type, raw, path);
  if (raw === null || raw === undefined || raw === '') return null;
  return coerceObject(type.name, raw, objects, path);
}

export function coerceField(field: FieldModel, raw: unknown, objects: Objects, path: string): unknown {
  if (field.list) {
    if (raw === null || raw === undefined || raw === '') return [];
    return (Array.isArray(raw) ? raw : [raw]).map((item, i) => coerceOne(field.type, item, objects, `${path}[${i}]`));
  }
  if (Array.isArray(raw)) throw invalid(path, 'a single element (it was repeated)');
  return coerceOne(field.type, raw, objects, path);
}

export function coerceObject(typeName: string, raw: unknown, objects: Objects, path: string): Record<string, unknown> {
  const model = objects.get(typeName);
  if (!model) throw new SoapSourceError('UPSTREAM_INVALID', `no type ${typeName}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(path, `a ${typeName} element`);
  const source = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of model.fields) out[f.name] = coerceField(f, source[f.xmlName], objects, `${path}/${f.xmlName}`);
  return out;
}

/** GraphQL arguments → the object the soap client serialises, keyed by XML name in schema order. */
export function toSoapArgs(fields: readonly FieldModel[], given: Record<string, unknown>, objects: Objects): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const value = given[f.name];
    if (value === undefined || value === null) continue;
    const one = (v: unknown) => (f.type.kind === 'object' && v && typeof v === 'object' ? toSoapArgs(objects.get(f.type.name)?.fields ?? [], v as Record<string, unknown>, objects) : v);
    out[f.xmlName] = Array.isArray(value) ? value.map(one) : one(value);
  }
  return out;
}
