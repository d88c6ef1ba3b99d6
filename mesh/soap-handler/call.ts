/**
 * Calling the upstream through the `soap` package's client, created once per source, and
 * translating every way a call can fail into UPSTREAM_UNAVAILABLE / UPSTREAM_AUTH_FAILED /
 * UPSTREAM_INVALID. A call is aborted at `timeoutMs` (the request's AbortSignal plus axios'
 * `timeout`), so it never hangs.
 *
 * SOAP faults are reported by their fault code only (e.g. `SOAP Fault soap:Client`): legacy
 * systems often echo the request — ID numbers, names — in faultstring/Reason, and this text would
 * reach every consumer, so it is not passed on.
 */
import { resolve as resolvePath } from 'node:path';
import soap from 'soap';
import type { Client, IOptions } from 'soap';
import { TongxiangError } from '../../core/index.ts';
import { xmlText } from '../../sources/soap/index.ts';
import { describeNetworkFailure } from '../upstream-guard.ts';
import { isWsdlUrl, type ResolvedSoapConfig } from './config.ts';
import { SoapSourceError } from './errors.ts';
import type { SoapVersion } from './wsdl-annotations.ts';
import type { OperationModel, ServiceModel } from './wsdl-model.ts';

export const ENVELOPE_NS: Record<SoapVersion, string> = {
  '1.1': 'http://schemas.xmlsoap.org/soap/envelope/',
  '1.2': 'http://www.w3.org/2003/05/soap-envelope',
};

/** Keep the lexical form of these types: the soap package would parseInt a long or make a Date of a date. */
const KEEP_TEXT = Object.fromEntries(
  ['long', 'integer', 'unsignedLong', 'nonNegativeInteger', 'positiveInteger', 'negativeInteger', 'nonPositiveInteger', 'date', 'dateTime', 'time'].map(
    (t) => [t, (text: string) => text],
  ),
);

const SECURITY_FAULTS = new Set([
  'FailedAuthentication',
  'InvalidSecurity',
  'InvalidSecurityToken',
  'FailedCheck',
  'SecurityTokenUnavailable',
  'UnsupportedSecurityToken',
  'MessageExpired',
  'AuthenticationFailure',
]);

/**
 * A failure before any HTTP answer (refused, reset, timeout, DNS): axios' network errors and
 * Node's socket errors carry a string `code` and no `response`. Named by `describeNetworkFailure`.
 */
export function isTransportFailure(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, name, response } = error as { code?: unknown; name?: unknown; response?: unknown };
  return response === undefined && (typeof code === 'string' || name === 'TimeoutError' || name === 'AbortError');
}

function safeCode(code: string | undefined): string {
  return code && /^[\w.:-]{1,80}$/.test(code.trim()) ? code.trim() : 'unrecognised';
}

/** Fault code(s) of a parsed Fault: SOAP 1.1 faultcode, or SOAP 1.2 Code/Value and Subcode/Value. */
function faultCodes(fault: Record<string, unknown>): string[] {
  if ('faultcode' in fault) return [safeCode(xmlText(fault.faultcode))];
  const codes: string[] = [];
  let code = fault.Code as Record<string, unknown> | undefined;
  for (let depth = 0; code && depth < 5; depth++) {
    codes.push(safeCode(xmlText(code.Value)));
    code = code.Subcode as Record<string, unknown> | undefined;
  }
  return codes.length > 0 ? codes : ['unrecognised'];
}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

/** Every failure of a soap client call, classified. */
export function classifyFailure(error: unknown): SoapSourceError {
  const e = (error ?? {}) as {
    root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } };
    response?: { status?: number; headers?: Record<string, unknown> };
    Fault?: { faultstring?: unknown };
    message?: unknown;
  };
  const status = typeof e.response?.status === 'number' ? e.response.status : undefined;
  const fault = e.root?.Envelope?.Body?.Fault;
  if (fault && typeof fault === 'object') {
    const codes = faultCodes(fault);
    const reason = `SOAP Fault ${codes.join(' / ')}`;
    if (codes.some((c) => SECURITY_FAULTS.has(localName(c))) || status === 401 || status === 403) {
      return new SoapSourceError('UPSTREAM_AUTH_FAILED', reason);
    }
    return new SoapSourceError('UPSTREAM_INVALID', reason);
  }
  if (status === undefined && isTransportFailure(error)) return new SoapSourceError('UPSTREAM_UNAVAILABLE', describeNetworkFailure(error));
  if (status === 401 || status === 403) return new SoapSourceError('UPSTREAM_AUTH_FAILED', `HTTP ${status}`);
  // A 5xx without a parseable Fault is the server (or a proxy in front of it) failing, whatever the body.
  if (status !== undefined && status >= 500) return new SoapSourceError('UPSTREAM_UNAVAILABLE', `HTTP ${status}`);
  const contentType = String(e.response?.headers?.['content-type'] ?? '');
  const http = status === undefined ? '' : ` (HTTP ${status})`;
  if (/html/i.test(contentType)) return new SoapSourceError('UPSTREAM_INVALID', `HTML page instead of a SOAP envelope${http}`);
  if (e.Fault?.faultstring === 'Invalid XML') return new SoapSourceError('UPSTREAM_INVALID', `unparsable XML${http}`);
  if (status !== undefined) return new SoapSourceError('UPSTREAM_INVALID', `not a SOAP envelope${http}`);
  return new SoapSourceError('UPSTREAM_INVALID', 'unexpected failure');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A successful answer must be an envelope of the configured version holding the response element. */
export function checkEnvelope(raw: unknown, version: SoapVersion, outputElement: string | undefined): SoapSourceError | undefined {
  if (typeof raw !== 'string') return new SoapSourceError('UPSTREAM_INVALID', 'not a SOAP envelope');
  const envelope = /<(?:([A-Za-z_][\w.-]*):)?Envelope\b([^>]*)>/.exec(raw);
  if (!envelope) return new SoapSourceError('UPSTREAM_INVALID', 'not a SOAP envelope');
  const declaration = new RegExp(`\\bxmlns${envelope[1] ? `:${escapeRegExp(envelope[1])}` : ''}\\s*=\\s*["']([^"']*)["']`).exec(envelope[2] ?? '');
  const ns = declaration?.[1];
  if (ns !== ENVELOPE_NS[version]) {
    const other: SoapVersion = version === '1.1' ? '1.2' : '1.1';
    return new SoapSourceError(
      'UPSTREAM_INVALID',
      ns === ENVELOPE_NS[other] ? `SOAP ${other} envelope where SOAP ${version} was expected` : 'not a SOAP envelope',
    );
  }
  if (outputElement && !new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${escapeRegExp(outputElement)}[\\s/>]`).test(raw)) {
    return new SoapSourceError('UPSTREAM_INVALID', 'response element missing');
  }
  return undefined;
}

export interface LoadClientContext {
  readonly baseDir: string;
  readonly source: string;
  readonly sourceLabel: string;
}

/** Reads and parses the WSDL (once, at start) and sets endpoint, SOAP version and WS-Security. */
export async function loadSoapClient(config: ResolvedSoapConfig, context: LoadClientContext): Promise<Client> {
  const fromUrl = isWsdlUrl(config.wsdl);
  const location = fromUrl ? config.wsdl : resolvePath(context.baseDir, config.wsdl);
  const options: IOptions = {
    disableCache: true, // the package's cache shares one WSDL object, and clients mutate its options
    forceSoap12Headers: config.soapVersion === '1.2',
    wsdl_options: { timeout: config.timeoutMs },
    customDeserializer: KEEP_TEXT,
    handleNilAsNull: true,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
  };
  let client: Client;
  try {
    client = await soap.createClientAsync(location, options);
  } catch (error) {
    if (fromUrl && isTransportFailure(error)) {
      const reason = `WSDL: ${describeNetworkFailure(error)}`;
      throw new TongxiangError('UPSTREAM_UNAVAILABLE', { source: context.source, sourceLabel: context.sourceLabel, reason });
    }
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'file not found' : typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'not a readable WSDL';
    throw new TongxiangError('CONFIG_INVALID', { reason: `${context.source}: the WSDL could not be loaded (${why})` });
  }
  if (config.security) {
    const { username, password, passwordType } = config.security;
    client.setSecurity(new soap.WSSecurity(username, password, { passwordType, hasTimeStamp: false }));
  }
  return client;
}

type SoapCallback = (error: unknown, result: unknown, rawResponse: unknown) => void;
type SoapMethod = (args: unknown, callback: SoapCallback, options: Record<string, unknown>) => void;

/** `invoke(operation, args)` for the model's port: resolves to the parsed response element. */
export function createSoapInvoker(client: Client, model: ServiceModel, timeoutMs: number) {
  const port = (client as unknown as Record<string, Record<string, Record<string, SoapMethod>>>)[model.service]?.[model.port];
  if (!port) throw new TongxiangError('CONFIG_INVALID', { reason: `the soap client has no port ${model.service}/${model.port}` });

  return (op: OperationModel, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const method = port[op.name];
      if (!method) return reject(new SoapSourceError('UPSTREAM_INVALID', `operation ${op.name} not on the port`));
      const controller = new AbortController();
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', expire);
        fn();
      };
      // At timeoutMs, or earlier when the caller's deadline (retries included) passes.
      const expire = () => {
        settle(() => reject(new SoapSourceError('UPSTREAM_UNAVAILABLE', 'timeout')));
        controller.abort();
      };
      const timer = setTimeout(expire, timeoutMs);
      if (signal?.aborted) return expire();
      signal?.addEventListener('abort', expire, { once: true });
      try {
        method(
          args,
          (error, result, raw) =>
            settle(() => {
              if (error) return reject(classifyFailure(error));
              const problem = op.outputElement ? checkEnvelope(raw, model.soapVersion, op.outputElement) : undefined;
              if (problem) return reject(problem);
              resolve(result);
            }),
          { timeout: timeoutMs, signal: controller.signal },
        );
      } catch {
        settle(() => reject(new SoapSourceError('UPSTREAM_INVALID', 'request could not be built')));
      }
    });
}
