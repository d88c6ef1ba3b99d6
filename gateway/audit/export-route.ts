/**
 * `GET /audit/export?from=ISO&to=ISO` — the auditor's download of the self-contained export
 * (`tongxiang audit export` writes the same file): a header with the range and the public keys,
 * then the records of the range and the checkpoints covering them, as JSON Lines, streamed.
 * It verifies offline with `tongxiang audit verify --file … --keys …`.
 *
 * Bearer token as for /graphql; auditors only (401 without a valid token, 403 otherwise). The
 * hub signs a checkpoint first, so the export's last records are signed, and records the
 * download as an admin event (`audit-export`) before the first byte leaves.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { checkExportRange, exportLines } from '../../audit/export.ts';
import { isTongxiangError, TongxiangError, type Principal } from '../../core/index.ts';
import type { HubAudit } from './hub-audit.ts';

export const AUDIT_EXPORT_PATH = '/audit/export';

export interface AuditExportRouteOptions {
  readonly audit: HubAudit;
  /** The caller named by an Authorization header; throws UNAUTHENTICATED otherwise. */
  readonly authenticate: (authorization: string | undefined) => Promise<Principal>;
  /** Told of failures on the hub's side (a broken stream, an unexpected error). */
  readonly onError?: (error: unknown) => void;
}

function instant(name: 'from' | 'to', value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `${name} 应为 ISO 8601 时间 / ${name} must be an ISO 8601 time` });
  }
  return new Date(value).toISOString();
}

/** `20261123T160000Z`: a file-name-safe form of an instant. */
function stamp(iso: string | undefined, open: string): string {
  return iso ? iso.slice(0, 19).replace(/[-:]/g, '') + 'Z' : open;
}

export function registerAuditExport(app: FastifyInstance, options: AuditExportRouteOptions): void {
  const { audit } = options;
  void app.register(async (scope) => {
    scope.setErrorHandler(async (error, request, reply) => {
      if (isTongxiangError(error)) {
        if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="tongxiang"');
        return reply.code(error.status).send({ error: error.toExtensions() });
      }
      options.onError?.(error);
      return reply.code(500).send({ error: new TongxiangError('INTERNAL', { requestId: String(request.id) }).toExtensions() });
    });
    scope.get<{ Querystring: { from?: string; to?: string } }>(AUDIT_EXPORT_PATH, async (request, reply) => {
      const principal = await options.authenticate(request.headers.authorization);
      if (!principal.roles.includes('auditor')) {
        throw new TongxiangError('FORBIDDEN_ACTION', { reason: '审计日志导出仅限审计员 / only auditors export the audit log' });
      }
      const from = instant('from', request.query.from);
      const to = instant('to', request.query.to);
      const range = { ...(from ? { from } : {}), ...(to ? { to } : {}) };
      checkExportRange(range);
      // Sign what is there, so the export's tail is covered by a checkpoint.
      await audit.writer.checkpoint();
      await audit.admin('audit-export', { department: principal.department.code, user: principal.subject }, { from: from ?? null, to: to ?? null, client: principal.client });
      const lines = exportLines(audit.store.read(), range, audit.keyring.publicJwks());
      const body = Readable.from(lines, { objectMode: false });
      body.on('error', (error) => options.onError?.(error));
      reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="tongxiang-audit-${stamp(from, 'start')}-${stamp(to, 'now')}.jsonl"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff');
      return reply.send(body);
    });
  });
}
