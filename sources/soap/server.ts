/**
 * 安徽省市场监督管理局 法人库 as a real SOAP WebService: the hand-written WSDL in
 * `samr-registry.wsdl`, served by the `soap` package on a node:http server with two ports — SOAP 1.1
 * at `/samr/registry` and SOAP 1.2 at `/samr/registry/soap12`. Every call needs a WS-Security
 * UsernameToken; a missing or wrong one is a SOAP Fault (wsse:FailedAuthentication).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import soap from 'soap';
import type { IServices } from 'soap';
import type { DemoEnterprise } from '../demo-data/model.ts';
import { createEnterpriseIndex, isQueryError, type EnterpriseIndex } from './registry.ts';
import { createUsernameTokenVerifier, type Credentials, type UsernameTokenVerifier } from './username-token.ts';

export const WSDL_FILE = new URL('./samr-registry.wsdl', import.meta.url);
export const PATH_SOAP11 = '/samr/registry';
export const PATH_SOAP12 = '/samr/registry/soap12';
const SERVICE = 'MarketRegistryService';
const PORT_SOAP11 = 'MarketRegistrySoap';
const PORT_SOAP12 = 'MarketRegistrySoap12';

export interface MarketRegistryServerOptions {
  enterprises: DemoEnterprise[];
  credentials: { username: string; password: string };
  host?: string;
  port?: number;
}

export interface MarketRegistryServer {
  /** SOAP 1.1 endpoint. */
  endpoint: string;
  /** SOAP 1.2 endpoint. */
  endpoint12: string;
  /** `${endpoint}?wsdl`: the WSDL with both addresses pointing at this server. */
  wsdlUrl: string;
  close(): Promise<void>;
}

type SoapVersion = '1.1' | '1.2';

/** What the `soap` server turns into a Fault element; `statusCode` is the HTTP status. */
interface FaultError {
  Fault: Record<string, unknown> & { statusCode: number };
}

const AUTH_FAILED_TEXT = 'WS-Security 身份认证失败：用户名令牌（UsernameToken）缺失或不正确';

/**
 * A Fault the caller caused. SOAP 1.1 §6.2: every fault travels with HTTP 500; SOAP 1.2 part 2
 * §7.5.2.2: a Sender fault travels with HTTP 400.
 */
function senderFault(version: SoapVersion, text: string, subcode?: string): FaultError {
  if (version === '1.1') return { Fault: { faultcode: subcode ?? 'soap:Client', faultstring: text, statusCode: 500 } };
  return {
    Fault: {
      Code: subcode ? { Value: 'soap:Sender', Subcode: { Value: subcode } } : { Value: 'soap:Sender' },
      Reason: { Text: { attributes: { 'xml:lang': 'zh' }, $value: text } },
      statusCode: 400,
    },
  };
}

function wireEnterprise(e: DemoEnterprise): Record<string, unknown> {
  return {
    creditCode: e.creditCode,
    name: e.name,
    type: e.type,
    legalRepresentativeName: e.legalRepresentativeName,
    legalRepresentativeIdNumber: e.legalRepresentativeIdNumber,
    registeredCapital: e.registeredCapital,
    establishedDate: e.establishedDate,
    businessScope: e.businessScope,
    address: e.address,
    regionCode: e.regionCode,
    status: e.status,
  };
}

function argText(args: unknown, name: string): string | undefined {
  const value = (args as Record<string, unknown> | undefined)?.[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') return undefined;
  return String(value);
}

function argInt(args: unknown, name: string): number {
  const raw = argText(args, name);
  return raw === undefined || !/^[+-]?\d+$/.test(raw.trim()) ? Number.NaN : Number(raw);
}

function port(index: EnterpriseIndex, verifier: UsernameTokenVerifier, version: SoapVersion) {
  /** Every operation checks the UsernameToken first, then runs `body` on the request arguments. */
  const guarded =
    (body: (args: unknown) => Record<string, unknown>) =>
    (args: unknown, _callback: unknown, headers: unknown): Record<string, unknown> => {
      const security = (headers as { Security?: unknown } | undefined)?.Security;
      if (!verifier.verify(security, Date.now()).ok) throw senderFault(version, AUTH_FAILED_TEXT, 'wsse:FailedAuthentication');
      return body(args);
    };

  return {
    GetEnterprise: guarded((args) => {
      const found = index.get(argText(args, 'creditCode') ?? '');
      if (isQueryError(found)) throw senderFault(version, found.error);
      return found ? { enterprise: wireEnterprise(found) } : {};
    }),
    SearchEnterprises: guarded((args) => {
      const nameContains = argText(args, 'nameContains');
      const regionCode = argText(args, 'regionCode');
      const result = index.search({ nameContains, regionCode, page: argInt(args, 'page'), pageSize: argInt(args, 'pageSize') });
      if (isQueryError(result)) throw senderFault(version, result.error);
      return {
        total: result.total,
        page: result.page,
        pageSize: result.pageSize,
        enterprise: result.enterprises.map(wireEnterprise),
      };
    }),
    ListEnterprisesByLegalRepresentative: guarded((args) => {
      const result = index.listByLegalRepresentative(argText(args, 'idNumber') ?? '');
      if (isQueryError(result)) throw senderFault(version, result.error);
      return { enterprise: result.map(wireEnterprise) };
    }),
  };
}

/** The WSDL with its two `address` locations set to where this server listens. */
export function wsdlWithAddresses(wsdl: string, endpoint: string, endpoint12: string): string {
  return wsdl
    .replace(/(<soap:address\s+location=")[^"]*(")/, `$1${endpoint}$2`)
    .replace(/(<soap12:address\s+location=")[^"]*(")/, `$1${endpoint12}$2`);
}

function listenSoap(server: HttpServer, path: string, services: IServices, xml: string, soap12: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    soap.listen(server, {
      path,
      services,
      xml,
      suppressStack: true,
      returnFault: true,
      forceSoap12Headers: soap12,
      enableChunkedEncoding: false,
      callback: (err: unknown) => (err ? reject(err instanceof Error ? err : new Error('WSDL could not be loaded')) : resolve()),
    });
  });
}

function validateOptions(options: MarketRegistryServerOptions): void {
  const problems: string[] = [];
  if (!Array.isArray(options.enterprises)) problems.push('enterprises must be an array');
  const c = options.credentials as Partial<Credentials> | undefined;
  if (!c || typeof c.username !== 'string' || c.username === '') problems.push('credentials.username must be a non-empty string');
  if (!c || typeof c.password !== 'string' || c.password === '') problems.push('credentials.password must be a non-empty string');
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    problems.push('port must be an integer between 0 and 65535');
  }
  if (problems.length > 0) throw new TypeError(`startMarketRegistryServer: ${problems.join('; ')}`);
}

export async function startMarketRegistryServer(options: MarketRegistryServerOptions): Promise<MarketRegistryServer> {
  validateOptions(options);
  const index = createEnterpriseIndex(options.enterprises);
  const credentials: Credentials = Object.freeze({ username: options.credentials.username, password: options.credentials.password });
  const verifier = createUsernameTokenVerifier(credentials);
  const host = options.host ?? '127.0.0.1';
  const wsdlTemplate = await readFile(WSDL_FILE, 'utf8');

  // Anything that is not one of the two SOAP paths: 404 (the soap servers chain to this listener).
  const http = createServer((_req: IncomingMessage, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });

  try {
    const address = http.address() as AddressInfo;
    const advertised = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const base = `http://${advertised}:${address.port}`;
    const endpoint = `${base}${PATH_SOAP11}`;
    const endpoint12 = `${base}${PATH_SOAP12}`;
    const xml = wsdlWithAddresses(wsdlTemplate, endpoint, endpoint12);

    const services = (version: SoapVersion): IServices => {
      const impl = port(index, verifier, version);
      return { [SERVICE]: { [PORT_SOAP11]: impl, [PORT_SOAP12]: impl } };
    };
    await listenSoap(http, PATH_SOAP11, services('1.1'), xml, false);
    await listenSoap(http, PATH_SOAP12, services('1.2'), xml, true);

    return {
      endpoint,
      endpoint12,
      wsdlUrl: `${endpoint}?wsdl`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          http.close((err) => (err ? reject(err) : resolve()));
          http.closeAllConnections();
        }),
    };
  } catch (error) {
    http.close();
    throw error;
  }
}
