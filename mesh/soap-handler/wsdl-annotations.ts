/**
 * What the `soap` package's WSDL parser drops and the graph needs: the text of
 * `xsd:documentation` / `wsdl:documentation`, and which SOAP version each port's binding speaks
 * (`soap:binding` vs `soap12:binding`). Read from the WSDL text with a namespace-aware parse.
 *
 * Documentation is keyed by path, the same paths `wsdl-model.ts` walks:
 *   `type:Enterprise`, `type:Enterprise/creditCode`, `element:GetEnterprise`,
 *   `element:GetEnterprise/creditCode`, `operation:GetEnterprise`.
 */
import { parseStringPromise } from 'xml2js';

export type SoapVersion = '1.1' | '1.2';

export interface WsdlAnnotations {
  readonly docs: ReadonlyMap<string, string>;
  /** port name → SOAP version of its binding. */
  readonly portVersions: ReadonlyMap<string, SoapVersion>;
}

const NS = {
  wsdl: 'http://schemas.xmlsoap.org/wsdl/',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  soap11: 'http://schemas.xmlsoap.org/wsdl/soap/',
  soap12: 'http://schemas.xmlsoap.org/wsdl/soap12/',
} as const;

interface XmlNode {
  uri: string;
  local: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlNode[];
}

interface RawNode {
  $ns?: { uri: string; local: string };
  $?: Record<string, { local: string; value: string; uri: string }>;
  _?: string;
  $$?: RawNode[];
}

function toNode(raw: RawNode): XmlNode {
  const attrs: Record<string, string> = {};
  for (const a of Object.values(raw.$ ?? {})) if (a.uri === '') attrs[a.local] = a.value;
  return {
    uri: raw.$ns?.uri ?? '',
    local: raw.$ns?.local ?? '',
    attrs,
    text: typeof raw._ === 'string' ? raw._ : '',
    children: (raw.$$ ?? []).map(toNode),
  };
}

function localOf(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/** The first documentation text directly under `node` (wsdl:documentation or xsd:annotation/xsd:documentation). */
function documentationOf(node: XmlNode): string | undefined {
  for (const child of node.children) {
    if (child.local === 'documentation' && child.text.trim()) return child.text.trim();
    if (child.local === 'annotation' && child.uri === NS.xsd) {
      const doc = child.children.find((d) => d.local === 'documentation' && d.text.trim());
      if (doc) return doc.text.trim();
    }
  }
  return undefined;
}

/** Element declarations inside a complex type (through sequence/all/choice/complexContent/extension). */
function fieldElements(complexType: XmlNode): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (node: XmlNode) => {
    for (const child of node.children) {
      if (child.uri !== NS.xsd) continue;
      if (child.local === 'element') out.push(child);
      else if (['sequence', 'all', 'choice', 'complexContent', 'extension', 'restriction', 'group'].includes(child.local)) walk(child);
    }
  };
  walk(complexType);
  return out;
}

function collectElementDocs(element: XmlNode, path: string, docs: Map<string, string>): void {
  const doc = documentationOf(element);
  if (doc) docs.set(path, doc);
  const anonymous = element.children.find((c) => c.uri === NS.xsd && c.local === 'complexType');
  if (anonymous) collectTypeDocs(anonymous, path, docs);
}

function collectTypeDocs(complexType: XmlNode, path: string, docs: Map<string, string>): void {
  for (const field of fieldElements(complexType)) {
    const name = field.attrs.name ?? (field.attrs.ref ? localOf(field.attrs.ref) : undefined);
    if (name) collectElementDocs(field, `${path}/${name}`, docs);
  }
}

function walkSchema(schema: XmlNode, docs: Map<string, string>): void {
  for (const child of schema.children) {
    if (child.uri !== NS.xsd || !child.attrs.name) continue;
    if (child.local === 'complexType' || child.local === 'simpleType') {
      const path = `type:${child.attrs.name}`;
      const doc = documentationOf(child);
      if (doc) docs.set(path, doc);
      if (child.local === 'complexType') collectTypeDocs(child, path, docs);
    } else if (child.local === 'element') {
      collectElementDocs(child, `element:${child.attrs.name}`, docs);
    }
  }
}

export async function readWsdlAnnotations(wsdlXml: string): Promise<WsdlAnnotations> {
  const parsed = (await parseStringPromise(wsdlXml, {
    explicitChildren: true,
    preserveChildrenOrder: true,
    xmlns: true,
    explicitRoot: false,
  })) as RawNode;
  const root = toNode(parsed);
  const docs = new Map<string, string>();
  const bindingVersions = new Map<string, SoapVersion>();
  const portVersions = new Map<string, SoapVersion>();

  const walk = (node: XmlNode) => {
    for (const child of node.children) {
      if (child.uri === NS.xsd && child.local === 'schema') walkSchema(child, docs);
      else if (child.uri === NS.wsdl && child.local === 'types') walk(child);
      else if (child.uri === NS.wsdl && child.local === 'portType') {
        for (const op of child.children) {
          const doc = op.local === 'operation' && op.attrs.name ? documentationOf(op) : undefined;
          if (doc) docs.set(`operation:${op.attrs.name}`, doc);
        }
      } else if (child.uri === NS.wsdl && child.local === 'binding' && child.attrs.name) {
        const marker = child.children.find((c) => c.local === 'binding');
        if (marker?.uri === NS.soap11) bindingVersions.set(child.attrs.name, '1.1');
        if (marker?.uri === NS.soap12) bindingVersions.set(child.attrs.name, '1.2');
      }
    }
  };
  walk(root);

  for (const service of root.children.filter((c) => c.uri === NS.wsdl && c.local === 'service')) {
    for (const port of service.children.filter((c) => c.local === 'port' && c.attrs.name)) {
      const version = port.attrs.binding ? bindingVersions.get(localOf(port.attrs.binding)) : undefined;
      const address = port.children.find((c) => c.local === 'address');
      const byAddress = address?.uri === NS.soap11 ? '1.1' : address?.uri === NS.soap12 ? '1.2' : undefined;
      const resolved = version ?? byAddress;
      if (resolved) portVersions.set(port.attrs.name!, resolved);
    }
  }
  return { docs, portVersions };
}
