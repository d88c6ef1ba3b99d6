/**
 * 六安市人力资源和社会保障局 社会保险信息共享接口 — the demo REST upstream behind the hub's
 * SocialInsurance source. It serves social-insurance.openapi.yaml (the contract; the handler types
 * below are generated from it by `npm run gen`) over the synthetic demo data:
 *   GET /api/v1/persons/{idNumber}/insurance     参保记录 (unknown but valid id → 200, name null, [])
 *   GET /api/v1/persons/{idNumber}/employment    就业记录
 *   GET /api/v1/employers/{creditCode}/headcount 在保职工人数
 *   GET /healthz                                 no key needed
 * Every other call needs the hub's key in X-API-Key (compared in constant time over SHA-256
 * digests). Keys are validated before parameters, so an unauthenticated caller learns nothing
 * about the data. Errors are `{ code, message, messageEn }`; no error echoes an ID number.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import { ERRORS, TongxiangError, formatMessage, validateCreditCode, validateIdNumber } from '../../core/index.ts';
import { DEMO_AS_OF, indexDemoData, type DemoData, type DemoIndexes } from '../demo-data/index.ts';
import { invalidKeyMessageZh } from '../upstream-messages.ts';
import type { components, operations, paths } from './social-insurance.types.ts';

type Schemas = components['schemas'];
type InsuranceResponse = paths['/api/v1/persons/{idNumber}/insurance']['get']['responses'][200]['content']['application/json'];
type EmploymentResponse = paths['/api/v1/persons/{idNumber}/employment']['get']['responses'][200]['content']['application/json'];
type HeadcountResponse = paths['/api/v1/employers/{creditCode}/headcount']['get']['responses'][200]['content']['application/json'];
type HealthResponse = paths['/healthz']['get']['responses'][200]['content']['application/json'];
type PersonParams = operations['personInsurance']['parameters']['path'];
type EmployerParams = operations['employerHeadcount']['parameters']['path'];
type ErrorBody = Schemas['ErrorBody'];

export interface SocialInsuranceServerOptions {
  /** The demo data, or its indexes when the caller already built them. */
  data: DemoData | DemoIndexes;
  /** The key the hub must present in X-API-Key. */
  apiKey: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, read it from `url`. */
  port?: number;
  /** The 统计截止日期 reported with head-counts; default the demo data's DEMO_AS_OF. */
  asOf?: string;
}

export interface SocialInsuranceServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  close(): Promise<void>;
}

function invalidBody(code: 'INVALID_ID_NUMBER' | 'INVALID_CREDIT_CODE', reason: string): ErrorBody {
  return { code, message: invalidKeyMessageZh(code, reason), messageEn: formatMessage(ERRORS[code].en, { reason }) };
}

const UNAUTHENTICATED: ErrorBody = Object.freeze({
  code: 'UNAUTHENTICATED',
  message: '缺少接入密钥或接入密钥无效（请求头 X-API-Key）',
  messageEn: 'Missing or invalid API key (header X-API-Key)',
});

const NOT_FOUND: ErrorBody = Object.freeze({
  code: 'NOT_FOUND',
  message: '接口不存在',
  messageEn: 'No such endpoint',
});

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

function validateOptions(options: SocialInsuranceServerOptions): Readonly<Required<Omit<SocialInsuranceServerOptions, 'data'>>> {
  const invalid = (reason: string) => new TongxiangError('CONFIG_INVALID', { reason: `social-insurance server: ${reason}` });
  if (!options || typeof options !== 'object') throw invalid('options are required');
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) throw invalid('apiKey is required');
  if (!options.data || typeof options.data !== 'object') throw invalid('data is required');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid('port must be an integer in [0, 65535]');
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) throw invalid('host must be a non-empty string');
  const asOf = options.asOf ?? DEMO_AS_OF;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw invalid('asOf must be a date YYYY-MM-DD');
  return Object.freeze({ apiKey: options.apiKey, host, port, asOf });
}

export async function startSocialInsuranceServer(options: SocialInsuranceServerOptions): Promise<SocialInsuranceServer> {
  const config = validateOptions(options);
  const ix: DemoIndexes = 'personsById' in options.data ? options.data : indexDemoData(options.data);
  const expectedKey = sha256(config.apiKey);

  const app = Fastify({ logger: false, keepAliveTimeout: 65_000, forceCloseConnections: 'idle' });

  const send = (reply: FastifyReply, status: number, body: ErrorBody) => reply.code(status).type('application/json; charset=utf-8').send(body);

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === '/healthz') return;
    const presented = request.headers['x-api-key'];
    if (typeof presented !== 'string' || !timingSafeEqual(sha256(presented), expectedKey)) {
      return send(reply, 401, UNAUTHENTICATED);
    }
  });

  app.setNotFoundHandler((_request, reply) => send(reply, 404, NOT_FOUND));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return send(reply, status, { code: 'BAD_REQUEST', message: '请求无效', messageEn: 'Bad request' });
    }
    return send(reply, 500, {
      code: 'INTERNAL',
      message: `服务内部错误（请求编号 ${request.id}）`,
      messageEn: `Internal error (request id ${request.id})`,
    });
  });

  const employerName = (code: string | null) => (code === null ? null : (ix.enterprisesByCreditCode.get(code)?.name ?? null));

  app.get<{ Params: PersonParams }>('/api/v1/persons/:idNumber/insurance', async (request, reply) => {
    const { idNumber } = request.params;
    const check = validateIdNumber(idNumber);
    if (!check.ok) return send(reply, 400, invalidBody('INVALID_ID_NUMBER', check.reason));
    const records = ix.insuranceById.get(idNumber) ?? [];
    const known = records.length > 0 || ix.employmentById.has(idNumber);
    const body: InsuranceResponse = {
      idNumber,
      name: known ? (ix.personsById.get(idNumber)?.name ?? null) : null,
      records: records.map((r): Schemas['InsuranceRecord'] => ({
        insuranceType: r.insuranceType,
        scheme: r.scheme,
        status: r.status,
        contributionBase: r.contributionBase,
        employerCreditCode: r.employerCreditCode,
        employerName: employerName(r.employerCreditCode),
        startDate: r.startDate,
        endDate: r.endDate,
      })),
    };
    return body;
  });

  app.get<{ Params: PersonParams }>('/api/v1/persons/:idNumber/employment', async (request, reply) => {
    const { idNumber } = request.params;
    const check = validateIdNumber(idNumber);
    if (!check.ok) return send(reply, 400, invalidBody('INVALID_ID_NUMBER', check.reason));
    const body: EmploymentResponse = {
      idNumber,
      records: (ix.employmentById.get(idNumber) ?? []).map((e): Schemas['EmploymentRecord'] => ({
        employerCreditCode: e.employerCreditCode,
        employerName: e.employerName,
        startDate: e.startDate,
        endDate: e.endDate,
      })),
    };
    return body;
  });

  app.get<{ Params: EmployerParams }>('/api/v1/employers/:creditCode/headcount', async (request, reply) => {
    const { creditCode } = request.params;
    const check = validateCreditCode(creditCode);
    if (!check.ok) return send(reply, 400, invalidBody('INVALID_CREDIT_CODE', check.reason));
    const counts = ix.headcountByEmployer.get(creditCode);
    const body: HeadcountResponse = {
      creditCode,
      insuredCount: counts?.insuredCount ?? 0,
      asOf: config.asOf,
      byInsuranceType: (counts?.byInsuranceType ?? []).map((c): Schemas['InsuranceTypeCount'] => ({ insuranceType: c.insuranceType, count: c.count })),
    };
    return body;
  });

  app.get('/healthz', async () => {
    const body: HealthResponse = { status: 'ok' };
    return body;
  });

  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return Object.freeze({
    url: `http://${host}:${address.port}`,
    close: () => app.close(),
  });
}
