/**
 * The service model of one WSDL port: operations, their arguments and results, the object types
 * they use — read from the `soap` package's parsed definitions (which follow xsd:import/include and
 * keep minOccurs/maxOccurs exactly), plus the documentation and SOAP versions from
 * `wsdl-annotations.ts`. Pure: takes the parsed tree, returns a value or throws CONFIG_INVALID.
 *
 * Only document/literal operations are supported; attributes, xsd:any and xsd:group refs are not
 * mapped (their elements are skipped).
 */
import { TongxiangError } from '../../core/index.ts';
import type { SoapVersion, WsdlAnnotations } from './wsdl-annotations.ts';

export type GraphQLScalarName = 'String' | 'Int' | 'Float' | 'Boolean';

export type TypeModel = { kind: 'scalar'; scalar: GraphQLScalarName; xsd: string } | { kind: 'object'; name: string };

export interface FieldModel {
  /** GraphQL name (the XML name with characters GraphQL forbids replaced by `_`). */
  readonly name: string;
  /** Element local name on the wire. */
  readonly xmlName: string;
  readonly description: string | undefined;
  readonly required: boolean;
  readonly list: boolean;
  readonly type: TypeModel;
}

export interface ObjectModel {
  readonly name: string;
  readonly description: string | undefined;
  readonly fields: FieldModel[];
}

export type OutputModel =
  | { kind: 'none' }
  | { kind: 'unwrap'; field: FieldModel }
  | { kind: 'wrapper'; type: string };

export interface OperationModel {
  readonly name: string;
  readonly description: string | undefined;
  readonly soapAction: string | undefined;
  readonly inputElement: string | undefined;
  readonly outputElement: string | undefined;
  readonly args: FieldModel[];
  readonly output: OutputModel;
}

export interface ServiceModel {
  readonly service: string;
  readonly port: string;
  readonly soapVersion: SoapVersion;
  readonly location: string | undefined;
  readonly operations: readonly OperationModel[];
  readonly objects: ReadonlyMap<string, ObjectModel>;
}

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

/**
 * XSD built-ins → GraphQL scalars. Integer types that may exceed 32 bits (long, integer,
 * unsignedInt, ...) become String so no digit is lost (GraphQL Int is 32-bit; a Float loses
 * precision past 2^53). Dates and times stay their ISO 8601 lexical form.
 */
const XSD_SCALARS: Record<string, GraphQLScalarName> = {
  int: 'Int', short: 'Int', byte: 'Int', unsignedShort: 'Int', unsignedByte: 'Int',
  long: 'String', integer: 'String', unsignedInt: 'String', unsignedLong: 'String',
  nonNegativeInteger: 'String', positiveInteger: 'String', negativeInteger: 'String', nonPositiveInteger: 'String',
  decimal: 'Float', double: 'Float', float: 'Float',
  boolean: 'Boolean',
};

/** The loose shape of the `soap` package's parsed WSDL elements that this module reads. */
interface SoapNode {
  name?: string;
  $name?: string;
  $type?: string;
  $ref?: string;
  $base?: string;
  $minOccurs?: string;
  $maxOccurs?: string;
  children?: SoapNode[];
  xmlns?: Record<string, string>;
  schemaXmlns?: Record<string, string>;
  definitionsXmlns?: Record<string, string>;
}

interface SoapSchema {
  complexTypes: Record<string, SoapNode>;
  types: Record<string, SoapNode>;
  elements: Record<string, SoapNode>;
}

interface SoapMethod {
  input?: SoapNode;
  output?: SoapNode;
  soapAction?: string;
  style?: string;
}

export interface SoapDefinitions {
  xmlns?: Record<string, string>;
  schemas?: Record<string, SoapSchema>;
  services?: Record<string, { ports: Record<string, { location?: string; binding: { style?: string; methods: Record<string, SoapMethod> } }> }>;
}

const CLASS_KINDS: Record<string, string> = {
  ElementElement: 'element', ComplexTypeElement: 'complexType', SimpleTypeElement: 'simpleType',
  SequenceElement: 'sequence', AllElement: 'all', ChoiceElement: 'choice', ComplexContentElement: 'complexContent',
  SimpleContentElement: 'simpleContent', ExtensionElement: 'extension', RestrictionElement: 'restriction',
  GroupElement: 'group', AnyElement: 'any', AttributeElement: 'attribute',
};

function kind(node: SoapNode): string {
  return node.name ?? CLASS_KINDS[(node as object).constructor.name] ?? '';
}

function childrenOf(node: SoapNode): SoapNode[] {
  return Array.isArray(node.children) ? node.children : [];
}

function splitQName(qname: string): { prefix: string | undefined; local: string } {
  const i = qname.indexOf(':');
  return i < 0 ? { prefix: undefined, local: qname } : { prefix: qname.slice(0, i), local: qname.slice(i + 1) };
}

export function pascalCase(name: string): string {
  const cleaned = name.replace(/[^_0-9A-Za-z]+/g, '_');
  const result = cleaned.charAt(0).toUpperCase() + cleaned.slice(1);
  return /^[0-9]/.test(result) ? `_${result}` : result;
}

/** GetEnterprise → getEnterprise, XMLQuery → xmlQuery. */
export function camelCase(name: string): string {
  const cleaned = name.replace(/[^_0-9A-Za-z]+/g, '_');
  const lowered = cleaned.replace(/^[A-Z]+(?=[A-Z][a-z]|[^A-Za-z]|$)/, (run) => run.toLowerCase());
  const result = lowered.charAt(0).toLowerCase() + lowered.slice(1);
  return /^[0-9]/.test(result) ? `_${result}` : result;
}

function graphqlName(xmlName: string): string {
  const cleaned = xmlName.replace(/[^_0-9A-Za-z]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason });
}

class ModelBuilder {
  readonly objects = new Map<string, ObjectModel>();
  private readonly names = new Map<SoapNode, string>();

  constructor(
    private readonly definitions: SoapDefinitions,
    private readonly docs: ReadonlyMap<string, string>,
  ) {}

  private namespaceOf(node: SoapNode, prefix: string | undefined): string | undefined {
    const key = prefix ?? '__tns__';
    return node.xmlns?.[key] ?? node.schemaXmlns?.[key] ?? node.definitionsXmlns?.[key] ?? this.definitions.xmlns?.[key];
  }

  /** Finds a schema component by QName, falling back to any schema holding that local name. */
  private lookup(node: SoapNode, qname: string, table: keyof SoapSchema): SoapNode | undefined {
    const { prefix, local } = splitQName(qname);
    const schemas = this.definitions.schemas ?? {};
    const ns = this.namespaceOf(node, prefix);
    const direct = ns ? schemas[ns]?.[table][local] : undefined;
    if (direct) return direct;
    for (const schema of Object.values(schemas)) if (schema[table][local]) return schema[table][local];
    return undefined;
  }

  private isXsd(node: SoapNode, qname: string): boolean {
    const { prefix, local } = splitQName(qname);
    const ns = this.namespaceOf(node, prefix);
    return ns === XSD_NS || (ns === undefined && (local in XSD_SCALARS || local === 'string'));
  }

  private builtin(local: string): TypeModel {
    return { kind: 'scalar', scalar: XSD_SCALARS[local] ?? 'String', xsd: local };
  }

  /** The scalar a simple type restricts (following restriction bases through named simple types). */
  private simpleScalar(simpleType: SoapNode, depth = 0): TypeModel {
    const restriction = childrenOf(simpleType).find((c) => kind(c) === 'restriction');
    const base = restriction?.$base;
    if (!restriction || !base || depth > 20) return this.builtin('string');
    if (this.isXsd(restriction, base)) return this.builtin(splitQName(base).local);
    const named = this.lookup(restriction, base, 'types');
    return named ? this.simpleScalar(named, depth + 1) : this.builtin('string');
  }

  /** A type reference (the value of `type=` or `base=`) resolved to a scalar or an object type. */
  private typeByName(node: SoapNode, qname: string): TypeModel {
    if (this.isXsd(node, qname)) return this.builtin(splitQName(qname).local);
    const complex = this.lookup(node, qname, 'complexTypes');
    const local = splitQName(qname).local;
    if (complex) return this.complexType(complex, pascalCase(local), `type:${local}`);
    const simple = this.lookup(node, qname, 'types');
    if (simple) return this.simpleScalar(simple);
    throw invalid(`the WSDL refers to type ${qname}, which none of its schemas defines`);
  }

  /** A complex type as an object type, or as a scalar when it only has simple content. */
  complexType(node: SoapNode, suggested: string, docPath: string): TypeModel {
    const simpleContent = childrenOf(node).find((c) => kind(c) === 'simpleContent');
    if (simpleContent) {
      const ext = childrenOf(simpleContent).find((c) => kind(c) === 'extension' || kind(c) === 'restriction');
      return ext?.$base ? this.typeByName(ext, ext.$base) : this.builtin('string');
    }
    const known = this.names.get(node);
    if (known) return { kind: 'object', name: known };
    let name = suggested;
    for (let i = 2; this.objects.has(name); i++) name = `${suggested}${i}`;
    this.names.set(node, name);
    const model: ObjectModel = { name, description: this.docs.get(docPath), fields: [] };
    this.objects.set(name, model);
    model.fields.push(...this.fields(node, docPath, name));
    if (model.fields.length === 0) {
      this.objects.delete(name);
      this.names.delete(node);
      return this.builtin('string');
    }
    return { kind: 'object', name };
  }

  /** The element declarations of a complex type, in document order. */
  fields(node: SoapNode, docPath: string, ownerName: string, optional = false): FieldModel[] {
    const out: FieldModel[] = [];
    for (const child of childrenOf(node)) {
      switch (kind(child)) {
        case 'element':
          out.push(this.field(child, docPath, ownerName, optional));
          break;
        case 'sequence':
        case 'all':
          out.push(...this.fields(child, docPath, ownerName, optional || child.$minOccurs === '0'));
          break;
        case 'choice':
          out.push(...this.fields(child, docPath, ownerName, true));
          break;
        case 'complexContent':
          out.push(...this.fields(child, docPath, ownerName, optional));
          break;
        case 'extension': {
          if (child.$base && !this.isXsd(child, child.$base)) {
            const base = this.lookup(child, child.$base, 'complexTypes');
            if (base) out.push(...this.fields(base, `type:${splitQName(child.$base).local}`, ownerName, optional));
          }
          out.push(...this.fields(child, docPath, ownerName, optional));
          break;
        }
        case 'restriction':
          out.push(...this.fields(child, docPath, ownerName, optional));
          break;
        default:
          break; // annotation, attribute, any, group: not mapped
      }
    }
    return out;
  }

  field(node: SoapNode, parentPath: string, ownerName: string, optional: boolean): FieldModel {
    let decl = node;
    if (node.$ref) {
      const target = this.lookup(node, node.$ref, 'elements');
      if (!target) throw invalid(`the WSDL refers to element ${node.$ref}, which none of its schemas defines`);
      decl = target;
    }
    const xmlName = decl.$name ?? splitQName(node.$ref ?? '').local;
    const path = `${parentPath}/${xmlName}`;
    const max = node.$maxOccurs === 'unbounded' ? Infinity : Number(node.$maxOccurs ?? '1');
    const min = Number(node.$minOccurs ?? '1');
    return {
      name: graphqlName(xmlName),
      xmlName,
      description: this.docs.get(path) ?? (node.$ref ? this.docs.get(`element:${xmlName}`) : undefined),
      required: !optional && min > 0,
      list: max > 1,
      type: this.elementType(decl, node.$ref ? `element:${xmlName}` : path, `${ownerName}${pascalCase(xmlName)}`),
    };
  }

  /** The type of an element declaration: its `type=`, or its anonymous complex/simple type. */
  elementType(decl: SoapNode, docPath: string, anonymousName: string): TypeModel {
    if (decl.$type) return this.typeByName(decl, decl.$type);
    const anonymous = childrenOf(decl).find((c) => kind(c) === 'complexType');
    if (anonymous) return this.complexType(anonymous, anonymousName, docPath);
    const simple = childrenOf(decl).find((c) => kind(c) === 'simpleType');
    if (simple) return this.simpleScalar(simple);
    return this.builtin('string'); // xsd:anyType
  }

  /** The children of a top-level request/response element. */
  elementFields(element: SoapNode): { fields: FieldModel[]; docPath: string; complex: SoapNode | undefined } {
    const elementName = element.$name ?? '';
    if (element.$type) {
      if (this.isXsd(element, element.$type)) return { fields: [], docPath: `element:${elementName}`, complex: undefined };
      const complex = this.lookup(element, element.$type, 'complexTypes');
      const local = splitQName(element.$type).local;
      return { fields: complex ? this.fields(complex, `type:${local}`, pascalCase(local)) : [], docPath: `type:${local}`, complex };
    }
    const complex = childrenOf(element).find((c) => kind(c) === 'complexType');
    const docPath = `element:${elementName}`;
    return { fields: complex ? this.fields(complex, docPath, pascalCase(elementName)) : [], docPath, complex };
  }
}

export interface ModelOptions {
  readonly soapVersion: SoapVersion;
  /** A port name; without it, the first port of the service speaking `soapVersion`. */
  readonly port?: string | undefined;
}

export function readServiceModel(definitions: SoapDefinitions, annotations: WsdlAnnotations, options: ModelOptions): ServiceModel {
  const candidates: Array<{ service: string; port: string; version: SoapVersion | undefined }> = [];
  for (const [service, s] of Object.entries(definitions.services ?? {})) {
    for (const port of Object.keys(s.ports)) candidates.push({ service, port, version: annotations.portVersions.get(port) });
  }
  if (candidates.length === 0) throw invalid('the WSDL defines no service port');
  const chosen = options.port
    ? candidates.find((c) => c.port === options.port)
    : candidates.find((c) => c.version === options.soapVersion) ?? (candidates.length === 1 && !candidates[0]!.version ? candidates[0] : undefined);
  if (!chosen) {
    throw invalid(options.port ? `the WSDL has no port named ${options.port}` : `the WSDL has no SOAP ${options.soapVersion} port`);
  }
  if (chosen.version && chosen.version !== options.soapVersion) {
    throw invalid(`port ${chosen.port} speaks SOAP ${chosen.version}, not the configured ${options.soapVersion}`);
  }
  const port = definitions.services![chosen.service]!.ports[chosen.port]!;
  const builder = new ModelBuilder(definitions, annotations.docs);

  const operations: OperationModel[] = [];
  for (const [name, method] of Object.entries(port.binding.methods)) {
    if ((method.style ?? port.binding.style) === 'rpc') {
      throw invalid(`operation ${name} uses rpc style; only document/literal operations are supported`);
    }
    const input = method.input ? builder.elementFields(method.input) : undefined;
    const outputElement = method.output?.$name;
    let output: OutputModel = { kind: 'none' };
    if (method.output) {
      const { fields, docPath, complex } = builder.elementFields(method.output);
      const only = fields[0];
      if (fields.length === 1 && only && only.type.kind === 'object') output = { kind: 'unwrap', field: only };
      else if (fields.length > 0 && complex) {
        const type = builder.complexType(complex, pascalCase(method.output.$type ? splitQName(method.output.$type).local : outputElement ?? `${name}Response`), docPath);
        if (type.kind === 'object') output = { kind: 'wrapper', type: type.name };
      }
    }
    operations.push({
      name,
      description: annotations.docs.get(`operation:${name}`) ?? (method.input?.$name ? annotations.docs.get(`element:${method.input.$name}`) : undefined),
      soapAction: method.soapAction || undefined,
      inputElement: method.input?.$name,
      outputElement,
      args: input?.fields ?? [],
      output,
    });
  }
  if (operations.length === 0) throw invalid(`port ${chosen.port} has no operations`);
  return {
    service: chosen.service,
    port: chosen.port,
    soapVersion: options.soapVersion,
    location: port.location ?? undefined,
    operations,
    objects: builder.objects,
  };
}
