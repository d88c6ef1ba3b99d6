/**
 * The file-drop exchange as the running hub runs it: the pipeline the Mesh handler made over its
 * dataset store (found through `heldPipeline`), a watcher on the drop folders, and uploads over
 * HTTP (`PUT /drops/:dataset/:fileName`, what `tongxiang drop ingest` uses). Every way in ends in
 * the same `pipeline.ingestFile`, one file at a time.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import type { YamlConfig } from '@graphql-mesh/types';
import type { FastifyInstance } from 'fastify';
import { isTongxiangError, TongxiangError, type Principal } from '../../core/index.ts';
import { heldPipeline, resolveFileDropConfig, type ResolvedFileDropConfig } from '../../mesh/filedrop-handler/index.ts';
import { watchDropFolder, type DropPipeline, type DropReport, type DropWatcher } from '../../sources/filedrop/index.ts';
import type { Logger } from '../log.ts';

export const FILEDROP_HANDLER = '@tongxiang/filedrop-handler';

export interface HubDrops {
  readonly pipeline: DropPipeline;
  readonly config: ResolvedFileDropConfig;
  /** Stores an uploaded file in the caller's dataset folder and ingests it (the watcher leaves it alone). */
  upload(principal: Principal, dataset: string, fileName: string, body: NodeJS.ReadableStream): Promise<DropReport>;
  close(): Promise<void>;
}

export interface HubDropsOptions {
  readonly sources: readonly YamlConfig.Source[];
  readonly meshDir: string;
  readonly logger: Logger;
  /** Watch the drop folders (default true); off, files are ingested at start and on upload only. */
  readonly watch?: boolean;
  /** Polling instead of inotify (network file systems). */
  readonly usePolling?: boolean;
  /** Largest upload accepted, bytes (a larger body is cut off and discarded). */
  readonly maxUploadBytes: number;
  /** Told each report, for the audit trail. */
  readonly onReport?: (report: DropReport) => void;
}

/** Roles that may upload a department's files. */
const UPLOAD_ROLES = new Set(['developer', 'data_owner', 'operator']);

/** A file name a department may give an upload: one path segment, no temporary or hidden name. */
export function uploadNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 200) return '文件名长度应为 1–200 个字符 / file name must be 1–200 characters';
  if (name !== basename(name) || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    return '文件名不能包含路径 / the file name must not contain a path';
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) return '文件名含有控制字符 / the file name contains control characters';
  if (name.startsWith('.') || name.startsWith('~$') || /\.(tmp|part|crdownload)$/i.test(name)) {
    return '临时文件名不会被处理 / temporary names (.*, ~$*, *.tmp, *.part) are not ingested';
  }
  if (!/\.(csv|txt|xlsx|xml)$/i.test(name)) return '请提交 CSV、XLSX 或 XML 文件 / submit a CSV, XLSX or XML file';
  return null;
}

export async function startHubDrops(options: HubDropsOptions): Promise<HubDrops | null> {
  const source = options.sources.find((s) => FILEDROP_HANDLER in (s.handler as Record<string, unknown>));
  if (!source) return null;
  const config = resolveFileDropConfig((source.handler as Record<string, unknown>)[FILEDROP_HANDLER], options.meshDir, source.name);
  const pipeline = heldPipeline(config.storeDir);
  if (!pipeline) {
    options.logger.warn('file-drop exchange not started: the dataset store is not open', { source: source.name });
    return null;
  }
  const { logger } = options;
  const report = (r: DropReport) => {
    options.onReport?.(r);
    const where = `${r.department}/${r.dataset}`;
    // File names and counts only: never cell values or ID numbers.
    if (r.outcome === 'rejected') logger.warn('file-drop rejected', { where, report: r.id, rowsRejected: r.rowsRejected });
    else logger.info('file-drop ingested', { where, report: r.id, outcome: r.outcome, version: r.version, rows: r.rowsAccepted, rowsRejected: r.rowsRejected });
    return r;
  };

  // Paths an upload is ingesting itself: the watcher sees them appear and must leave them alone.
  const uploading = new Set<string>();
  let watcher: DropWatcher | undefined;
  if (options.watch !== false) {
    watcher = await watchDropFolder({
      dropDir: config.dropDir,
      datasets: config.datasets,
      usePolling: options.usePolling,
      ingest: async (path) => {
        if (uploading.has(path) || !existsSync(path)) return;
        report(await pipeline.ingestFile(path));
      },
      scan: async () => {
        const result = await pipeline.scan();
        result.reports.forEach(report);
        for (const problem of result.problems) logger.warn('file-drop folder problem', { problem });
      },
      logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m) },
    });
  }

  return {
    pipeline,
    config,
    async upload(principal, dataset, fileName, body) {
      const name = fileName.normalize('NFC');
      const problem = uploadNameProblem(name);
      if (problem) throw new TongxiangError('BAD_USER_INPUT', { reason: problem });
      if (!principal.roles.some((r) => UPLOAD_ROLES.has(r))) {
        throw new TongxiangError('FORBIDDEN_ACTION', { reason: '上传文件需要 developer、data_owner 或 operator 角色 / uploading needs the developer, data_owner or operator role' });
      }
      const department = principal.department.code;
      const folder = pipeline.folderOf({ dataset, department });
      if (!folder) {
        throw new TongxiangError('FORBIDDEN_ACTION', { reason: `本部门（${department}）未获准投递数据集“${dataset}” / ${department} may not drop dataset ${dataset}` });
      }
      await mkdir(folder, { recursive: true });
      const target = join(folder, name);
      const temp = join(folder, `.upload-${randomBytes(6).toString('hex')}.part`);
      uploading.add(target);
      try {
        let bytes = 0;
        const limit = options.maxUploadBytes;
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            bytes += chunk.length;
            if (bytes > limit) callback(new TongxiangError('BAD_USER_INPUT', { reason: `文件超过 ${Math.floor(limit / 1024 / 1024)} MB / file larger than ${limit} bytes` }));
            else callback(null, chunk);
          },
        });
        try {
          await pump(body, counted, createWriteStream(temp, { flags: 'wx', mode: 0o640 }));
        } catch (error) {
          await rm(temp, { force: true });
          throw error;
        }
        // link + unlink: never replaces a file of the same name already waiting (rename would).
        try {
          await link(temp, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new TongxiangError('BAD_USER_INPUT', { reason: `同名文件“${name}”正在等待处理，请更换文件名 / a file named ${name} is already waiting` });
          }
          throw error;
        } finally {
          await rm(temp, { force: true });
        }
        return report(await pipeline.ingestFile(target, { actor: principal.subject }));
      } finally {
        uploading.delete(target);
      }
    },
    async close() {
      await watcher?.close();
    },
  };
}

/**
 * `PUT /drops/:dataset/:fileName` — the body is the file, streamed to disk; the answer is its
 * report (JSON): 200 published / partially published / unchanged, 422 rejected. Errors are the
 * catalogue's, as `{ error: { code, messageZh, messageEn, ... } }` with the catalogue's status.
 */
export function registerDropRoutes(
  app: FastifyInstance,
  drops: HubDrops,
  authenticate: (authorization: string | undefined) => Promise<Principal>,
): void {
  void app.register(async (scope) => {
    // In this scope only: any content type is the file itself, handed over as a stream.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.setErrorHandler(async (error, _request, reply) => {
      if (isTongxiangError(error)) {
        if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="tongxiang"');
        return reply.code(error.status).send({ error: error.toExtensions() });
      }
      const internal = new TongxiangError('INTERNAL', { requestId: String(_request.id) });
      return reply.code(500).send({ error: internal.toExtensions() });
    });
    scope.put<{ Params: { dataset: string; fileName: string } }>('/drops/:dataset/:fileName', async (request, reply) => {
      const principal = await authenticate(request.headers.authorization);
      const report = await drops.upload(principal, request.params.dataset, request.params.fileName, request.body as NodeJS.ReadableStream);
      reply.code(report.outcome === 'rejected' ? 422 : 200);
      return report;
    });
  });
}
