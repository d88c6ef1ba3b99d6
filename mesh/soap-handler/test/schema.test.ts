import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertObjectType,
  getNamedType,
  GraphQLObjectType,
  printSchema,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../../core/index.ts';
import { createHandler, schemaOf, WSDL_PATH } from './helpers.ts';

function field(schema: GraphQLSchema, type: string, name: string): GraphQLField<unknown, unknown> {
  const f = assertObjectType(schema.getType(type)).getFields()[name];
  if (!f) throw new Error(`${type}.${name} missing`);
  return f;
}

async function configError(run: () => unknown): Promise<{ code: string; reason: string }> {
  try {
    await run();
  } catch (error) {
    if (!isTongxiangError(error)) throw error;
    return { code: error.code, reason: String(error.fields.reason) };
  }
  throw new Error('expected a TongxiangError');
}

describe('GraphQL schema derived from the 法人库 WSDL', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await schemaOf({ wsdl: WSDL_PATH, soapVersion: '1.1' });
  });

  it('has one camelCase Query field per operation of the port', () => {
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual(['getEnterprise', 'listEnterprisesByLegalRepresentative', 'searchEnterprises']);
    expect(schema.getMutationType()).toBeUndefined();
  });

  it('makes arguments non-null exactly when the request element requires them', () => {
    const search = field(schema, 'Query', 'searchEnterprises');
    const args = Object.fromEntries(search.args.map((a) => [a.name, String(a.type)]));
    expect(args).toEqual({ nameContains: 'String', regionCode: 'String', page: 'Int!', pageSize: 'Int!' });
    expect(String(field(schema, 'Query', 'getEnterprise').args[0]!.type)).toBe('String!');
    expect(String(field(schema, 'Query', 'listEnterprisesByLegalRepresentative').args[0]!.type)).toBe('String!');
  });

  it('unwraps a response holding one complex element, and keeps a multi-element response as an object', () => {
    expect(String(field(schema, 'Query', 'getEnterprise').type)).toBe('Enterprise');
    expect(String(field(schema, 'Query', 'listEnterprisesByLegalRepresentative').type)).toBe('[Enterprise]');
    expect(String(field(schema, 'Query', 'searchEnterprises').type)).toBe('SearchEnterprisesResponse');
    const page = assertObjectType(schema.getType('SearchEnterprisesResponse')).getFields();
    expect(Object.fromEntries(Object.entries(page).map(([n, f]) => [n, String(f.type)]))).toEqual({
      total: 'Int',
      page: 'Int',
      pageSize: 'Int',
      enterprise: '[Enterprise]',
    });
  });

  it('maps XSD types to GraphQL scalars and names the object type after the XSD type', () => {
    const e = assertObjectType(schema.getType('Enterprise')).getFields();
    expect(String(e.registeredCapital!.type)).toBe('Float');
    expect(String(e.establishedDate!.type)).toBe('String');
    expect(String(e.status!.type)).toBe('String'); // a restriction of xsd:string with Chinese enumerations
    expect(Object.keys(e)).toEqual([
      'creditCode', 'name', 'type', 'legalRepresentativeName', 'legalRepresentativeIdNumber', 'registeredCapital',
      'establishedDate', 'businessScope', 'address', 'regionCode', 'status',
    ]);
  });

  it('carries the xsd:documentation as descriptions', () => {
    expect(schema.getType('Enterprise')!.description).toBe('企业法人登记信息（法人库）');
    expect(field(schema, 'Enterprise', 'registeredCapital').description).toBe('注册资本（万元人民币）');
    expect(field(schema, 'Query', 'getEnterprise').description).toBe('按统一社会信用代码查询一家企业');
    expect(field(schema, 'Query', 'searchEnterprises').args.find((a) => a.name === 'page')!.description).toBe('页码，从 1 开始');
  });

  it('derives the same schema from the SOAP 1.2 port', async () => {
    expect(printSchema(await schemaOf({ wsdl: WSDL_PATH, soapVersion: '1.2' }))).toBe(printSchema(schema));
  });

  it('puts the operations listed in `mutations` on Mutation', async () => {
    const s = await schemaOf({ wsdl: WSDL_PATH, mutations: ['SearchEnterprises'] });
    expect(Object.keys(s.getMutationType()!.getFields())).toEqual(['searchEnterprises']);
    expect(Object.keys(s.getQueryType()!.getFields()).sort()).toEqual(['getEnterprise', 'listEnterprisesByLegalRepresentative']);
  });
});

describe('handler configuration', () => {
  it('lists every problem of an invalid block in one CONFIG_INVALID, without the password', async () => {
    const error = await configError(() =>
      createHandler({
        wsdl: '',
        endpoint: 'ftp://example',
        soapVersion: '2.0' as never,
        timeoutMs: -1,
        security: { username: '', password: 'TopSecret!', passwordType: 'Plain' as never },
        extra: true,
      } as never),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    for (const part of ['unknown key "extra"', 'wsdl', 'endpoint', 'soapVersion', 'timeoutMs', 'security.username', 'security.passwordType']) {
      expect(error.reason).toContain(part);
    }
    expect(error.reason).not.toContain('TopSecret!');
  });

  it('accepts numbers written as strings after interpolation, and soapVersion read by YAML as a number', async () => {
    const s = await schemaOf({ wsdl: WSDL_PATH, soapVersion: 1.2 as never, timeoutMs: '2500' });
    expect(s.getQueryType()!.getFields().getEnterprise).toBeDefined();
  });

  it('refuses mutations naming an operation the port lacks', async () => {
    const error = await configError(() => createHandler({ wsdl: WSDL_PATH, mutations: ['DeleteEnterprise'] }).getMeshSource({ fetchFn: fetch } as never));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.reason).toContain('DeleteEnterprise');
  });

  it('refuses a WSDL file that does not exist', async () => {
    const error = await configError(() => createHandler({ wsdl: './nowhere/missing.wsdl' }).getMeshSource({ fetchFn: fetch } as never));
    expect(error).toEqual({ code: 'CONFIG_INVALID', reason: 'MarketRegistry: the WSDL could not be loaded (file not found)' });
  });
});

/** A second, unrelated WSDL: the mapping is driven by the WSDL alone. */
const OTHER_WSDL = `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="Vehicles" targetNamespace="urn:test:vehicles" xmlns="http://schemas.xmlsoap.org/wsdl/"
  xmlns:tns="urn:test:vehicles" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/">
  <types>
    <s:schema targetNamespace="urn:test:vehicles" elementFormDefault="qualified">
      <s:complexType name="Party">
        <s:sequence>
          <s:element name="name" type="s:string"/>
          <s:element name="serial" type="s:long"><s:annotation><s:documentation>64-bit serial</s:documentation></s:annotation></s:element>
        </s:sequence>
      </s:complexType>
      <s:complexType name="Owner">
        <s:annotation><s:documentation>车辆所有人</s:documentation></s:annotation>
        <s:complexContent>
          <s:extension base="tns:Party">
            <s:sequence>
              <s:element name="verified" type="s:boolean"/>
              <s:choice>
                <s:element name="phone" type="s:string"/>
                <s:element name="email" type="s:string"/>
              </s:choice>
            </s:sequence>
          </s:extension>
        </s:complexContent>
      </s:complexType>
      <s:element name="Plate" type="s:string"/>
      <s:element name="FindVehicle">
        <s:complexType><s:sequence>
          <s:element ref="tns:Plate"/>
          <s:element name="filter" minOccurs="0">
            <s:complexType><s:sequence>
              <s:element name="since" type="s:dateTime"/>
              <s:element name="seats" type="s:short" maxOccurs="unbounded"/>
            </s:sequence></s:complexType>
          </s:element>
        </s:sequence></s:complexType>
      </s:element>
      <s:element name="FindVehicleResponse">
        <s:complexType><s:sequence>
          <s:element name="count" type="s:int"/>
        </s:sequence></s:complexType>
      </s:element>
      <s:element name="GetOwner"><s:complexType><s:sequence><s:element name="id" type="s:string"/></s:sequence></s:complexType></s:element>
      <s:element name="GetOwnerResponse"><s:complexType><s:sequence><s:element name="owner" type="tns:Owner" minOccurs="0"/></s:sequence></s:complexType></s:element>
    </s:schema>
  </types>
  <message name="FindVehicleIn"><part name="p" element="tns:FindVehicle"/></message>
  <message name="FindVehicleOut"><part name="p" element="tns:FindVehicleResponse"/></message>
  <message name="GetOwnerIn"><part name="p" element="tns:GetOwner"/></message>
  <message name="GetOwnerOut"><part name="p" element="tns:GetOwnerResponse"/></message>
  <portType name="VehiclesPort">
    <operation name="FindVehicle"><input message="tns:FindVehicleIn"/><output message="tns:FindVehicleOut"/></operation>
    <operation name="GetOwner"><input message="tns:GetOwnerIn"/><output message="tns:GetOwnerOut"/></operation>
  </portType>
  <binding name="VehiclesBinding" type="tns:VehiclesPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="FindVehicle"><soap:operation soapAction="urn:FindVehicle"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
    <operation name="GetOwner"><soap:operation soapAction="urn:GetOwner"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="Vehicles"><port name="VehiclesSoap" binding="tns:VehiclesBinding"><soap:address location="http://127.0.0.1:1/vehicles"/></port></service>
</definitions>`;

describe('GraphQL schema derived from another WSDL', () => {
  let dir: string;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soap-handler-'));
    await writeFile(join(dir, 'vehicles.wsdl'), OTHER_WSDL);
    schema = await schemaOf({ wsdl: join(dir, 'vehicles.wsdl') }, 'Vehicles');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a response with one scalar child as an object type named after the response element', () => {
    expect(String(field(schema, 'Query', 'findVehicle').type)).toBe('FindVehicleResponse');
    expect(String(field(schema, 'FindVehicleResponse', 'count').type)).toBe('Int');
  });

  it('maps element refs, nested anonymous types to input types, lists, long, short and dateTime', () => {
    const args = Object.fromEntries(field(schema, 'Query', 'findVehicle').args.map((a) => [a.name, String(a.type)]));
    expect(args).toEqual({ Plate: 'String!', filter: 'FindVehicleFilterInput' });
    const filter = schema.getType('FindVehicleFilterInput') as unknown as { getFields(): Record<string, { type: unknown }> };
    expect(Object.fromEntries(Object.entries(filter.getFields()).map(([n, f]) => [n, String(f.type)]))).toEqual({
      since: 'String!',
      seats: '[Int!]!',
    });
  });

  it('inherits the fields of an extended base type, includes choice members, and keeps 64-bit integers as String', () => {
    expect(String(field(schema, 'Query', 'getOwner').type)).toBe('Owner');
    const owner = schema.getType('Owner') as GraphQLObjectType;
    expect(owner.description).toBe('车辆所有人');
    expect(Object.fromEntries(Object.entries(owner.getFields()).map(([n, f]) => [n, String(getNamedType(f.type))]))).toEqual({
      name: 'String',
      serial: 'String',
      verified: 'Boolean',
      phone: 'String',
      email: 'String',
    });
    expect(owner.getFields().serial!.description).toBe('64-bit serial');
  });

  it('refuses a SOAP version the WSDL has no port for', async () => {
    const error = await configError(() => schemaOf({ wsdl: join(dir, 'vehicles.wsdl'), soapVersion: '1.2' }, 'Vehicles'));
    expect(error).toEqual({ code: 'CONFIG_INVALID', reason: 'the WSDL has no SOAP 1.2 port' });
  });
});
