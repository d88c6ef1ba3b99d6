/**
 * XML rosters: the repeated child elements holding known fields are the rows. No DTD is accepted
 * (no XXE, no entity expansion) and nesting is bounded before any parser sees the text.
 */
import iconv from 'iconv-lite';
import { parseStringPromise } from 'xml2js';
import { DEFAULT_MAX_XML_DEPTH, decodeText, fileInvalid, gb18030Text, strictUtf8, type DropFileReader, type ParseOptions } from './parse-common.ts';

/** Declared encoding of an XML document, read from its prolog. */
function decodeXml(file: string, bytes: Uint8Array): { text: string; encoding: string } {
  if ((bytes[0] === 0xef && bytes[1] === 0xbb) || bytes[0] === 0xff || bytes[0] === 0xfe) return decodeText(file, bytes);
  const prolog = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 200)).toString('latin1');
  const declared = /^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(prolog)?.[1]?.toLowerCase();
  if (declared === undefined) {
    return { text: strictUtf8(file, bytes, 'XML 未声明编码（按规范应为 UTF-8），但内容不是有效的 UTF-8'), encoding: 'utf-8' };
  }
  if (declared === 'utf-8' || declared === 'utf8') return { text: strictUtf8(file, bytes), encoding: 'utf-8' };
  const mixed = () => fileInvalid(file, `文件标明为 ${declared.toUpperCase()} 编码，但内容中有无法识别的字节（可能混用了多种编码）`);
  if (['gbk', 'gb2312', 'gb18030', 'cp936'].includes(declared)) {
    const text = gb18030Text(bytes); // the decoder CSV uses, so a name reads the same in either format
    if (text === null) throw mixed();
    return { text, encoding: 'gb18030' };
  }
  if (!iconv.encodingExists(declared)) throw fileInvalid(file, `不支持的 XML 编码“${declared}”`);
  const text = iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), declared);
  if (text.includes('\uFFFD')) throw mixed();
  return { text, encoding: declared };
}

/**
 * Nesting depth check done before any XML parser sees the text. Returns false when `max` is
 * exceeded. Comments, CDATA and processing instructions are skipped; quoted attribute values may
 * contain '>'.
 */
export function withinXmlDepth(text: string, max: number): boolean {
  let depth = 0;
  let i = 0;
  const skipTo = (end: string, from: number): number => {
    const j = text.indexOf(end, from);
    return j < 0 ? text.length : j + end.length;
  };
  while ((i = text.indexOf('<', i)) !== -1) {
    if (text.startsWith('<!--', i)) i = skipTo('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9);
    else if (text.startsWith('<?', i) || text.startsWith('<!', i)) i = skipTo('>', i + 2);
    else {
      let j = i + 1;
      let quote: string | null = null;
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = null;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (text[i + 1] === '/') depth--;
      else if (text[j - 1] !== '/' && ++depth > max) return false;
      i = j + 1;
    }
  }
  return true;
}

type XmlElement = { $?: Record<string, string>; _?: string; [child: string]: unknown };

const isElement = (v: unknown): v is XmlElement => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaf text of a child: a string, or an element with only text and attributes. */
function leafText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isElement(v) && Object.keys(v).every((k) => k === '$' || k === '_')) return v._ ?? '';
  return undefined;
}

/** A row element's fields: its attributes, then its leaf children (first occurrence). */
function xmlFields(el: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!isElement(el)) return fields;
  for (const [k, v] of Object.entries(el.$ ?? {})) fields[k] = String(v);
  for (const [name, children] of Object.entries(el)) {
    if (name === '$' || name === '_' || !Array.isArray(children)) continue;
    const text = leafText(children[0]);
    if (text !== undefined && !(name in fields)) fields[name] = text;
  }
  return fields;
}

/** The repeated child elements that are the rows: first collection whose element has known fields. */
function findRowSet(node: unknown, known: ((h: string) => boolean) | undefined, depth: number): unknown[] | undefined {
  if (!isElement(node) || depth > DEFAULT_MAX_XML_DEPTH) return undefined;
  const collections = Object.entries(node).filter(
    (e): e is [string, unknown[]] => e[0] !== '$' && e[0] !== '_' && Array.isArray(e[1]),
  );
  for (const [, elements] of collections) {
    const first = elements.find(isElement);
    if (!first) continue;
    const names = Object.keys(xmlFields(first));
    const hits = known ? names.filter(known).length : names.length;
    if (hits >= 2 && (known || elements.length > 1)) return elements;
  }
  for (const [, elements] of collections) {
    for (const el of elements) {
      const rows = findRowSet(el, known, depth + 1);
      if (rows) return rows;
    }
  }
  return undefined;
}

export async function xmlReader(file: string, bytes: Uint8Array, options: ParseOptions): Promise<DropFileReader> {
  const { text, encoding } = decodeXml(file, bytes);
  // Refused before parsing: no DTD, hence no external entities (XXE) and no entity expansion.
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(text)) throw fileInvalid(file, 'XML 含有 DOCTYPE/ENTITY 声明，出于安全原因拒绝处理');
  const maxDepth = options.maxXmlDepth ?? DEFAULT_MAX_XML_DEPTH;
  if (!withinXmlDepth(text, maxDepth)) throw fileInvalid(file, `XML 元素嵌套超过 ${maxDepth} 层`);
  let doc: unknown;
  try {
    doc = await parseStringPromise(text, { explicitArray: true, explicitRoot: true, trim: true, strict: true, emptyTag: '' });
  } catch (error) {
    throw fileInvalid(file, 'XML 格式错误', error);
  }
  const root = isElement(doc) ? Object.values(doc)[0] : undefined;
  const rows = findRowSet(root, options.isKnownColumn, 0) ?? [];
  if (rows.length === 0) throw fileInvalid(file, 'XML 中找不到名册记录（重复的行元素）');
  const records = rows.map((el, i) => ({ row: i + 1, fields: xmlFields(el) }));
  const headers: string[] = [];
  for (const r of records) for (const k of Object.keys(r.fields)) if (!headers.includes(k)) headers.push(k);
  for (const r of records) for (const h of headers) (r.fields as Record<string, string>)[h] ??= '';
  let used = false;
  return {
    file,
    format: 'xml',
    encoding,
    headers,
    async *records() {
      if (used) throw new Error('DropFileReader.records() can be iterated once');
      used = true;
      yield* records;
    },
  };
}
