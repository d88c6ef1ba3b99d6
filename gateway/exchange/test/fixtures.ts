/**
 * Test helpers for the exchange: an array-backed pipeline (events / onEvent / datasets, like the
 * real pipeline's outbox), grants the test sets, people of the demo departments, a real webhook
 * receiver on 127.0.0.1, a logger that keeps its lines, and waiting on conditions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActiveGrant, RowScope } from '../../../contracts/index.ts';
import { parseDepartment, type Principal, type Role } from '../../../core/index.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinitionSync, type DatasetDefinition } from '../../../sources/filedrop/dataset.ts';
import type { ChangeEvent, DropPipeline } from '../../../sources/filedrop/model.ts';
import type { ExchangeLogger } from '../dispatcher.ts';

export const YEJI_MZJ = '341504.mzj'; // 叶集区民政局
export const LIXIN_MZJ = '341623.mzj'; // 利辛县民政局
export const BOZHOU_MZJ = '341600.mzj'; // 亳州市民政局 (利辛县 lies in 亳州市)
export const LUAN_MZJ = '341500.mzj'; // 六安市民政局 (叶集区 lies in 六安市)
export const PROVINCE_MZT = '340000.mzt'; // 安徽省民政厅

export const DIBAO: DatasetDefinition = loadDatasetDefinitionSync(DIBAO_DATASET_PATH);

/** The 低保 roster under other names, so each test can have a dataset of its own. */
export function rosters(count: number): DatasetDefinition[] {
  return [DIBAO, ...Array.from({ length: count }, (_, i) => Object.freeze({ ...DIBAO, name: `roster${i + 1}` }))];
}

export function person(department: string, roles: readonly Role[] = ['developer'], subject = `dev@${department}`): Principal {
  const dept = parseDepartment(department);
  if (!dept) throw new Error(`not a department: ${department}`);
  return { subject, department: dept, roles, client: 'test-client', expiresAt: Math.floor(Date.now() / 1000) + 3600 };
}

export function grant(provider: string, coordinate: string, scope: RowScope = { kind: 'jurisdiction' }, contractId = 'GX-2026-000001'): ActiveGrant {
  return { contractId, provider, coordinate, mode: 'clear', scope, purpose: '最低生活保障资格核查' };
}

/** `grants(department)` from a table the test changes. */
export function grantTable(): { grants(department: string): Promise<readonly ActiveGrant[]>; set(department: string, grants: readonly ActiveGrant[]): void } {
  const table = new Map<string, readonly ActiveGrant[]>();
  return {
    grants: async (department) => table.get(department) ?? [],
    set: (department, grants) => void table.set(department, grants),
  };
}

export interface ArrayPipeline extends Pick<DropPipeline, 'events' | 'onEvent' | 'datasets'> {
  readonly published: ChangeEvent[];
  /** Appends the next version of (dataset, department); tells listeners unless `notify: false`. */
  publish(dataset: string, department: string, counts?: Partial<Pick<ChangeEvent, 'added' | 'changed' | 'removed' | 'rows'>>, options?: { notify?: boolean }): ChangeEvent;
}

export function arrayPipeline(datasets: readonly DatasetDefinition[] = rosters(12)): ArrayPipeline {
  const published: ChangeEvent[] = [];
  const listeners = new Set<(event: ChangeEvent) => void>();
  let seq = 0;
  return {
    datasets,
    published,
    async events(afterSeq, limit) {
      return published.filter((e) => e.seq > afterSeq).slice(0, limit);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    publish(dataset, department, counts = {}, { notify = true } = {}) {
      const version = published.filter((e) => e.dataset === dataset && e.department === department).length + 1;
      // Gaps in seq, as a shared store's sequence may have.
      seq += 1 + (published.length % 3 === 2 ? 5 : 0);
      const event: ChangeEvent = Object.freeze({
        id: `${dataset}/${department}/v${version}`,
        seq,
        dataset,
        department,
        version,
        kind: 'file',
        added: counts.added ?? 3,
        changed: counts.changed ?? 1,
        removed: counts.removed ?? 0,
        rows: counts.rows ?? 120,
        at: new Date().toISOString(),
      });
      published.push(event);
      if (notify) for (const l of listeners) l(event);
      return event;
    },
  };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The status it was answered with. */
  readonly status: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Status for the n-th request (0-based); may be changed by the test. */
  answer: (n: number, request: { body: Buffer }) => number | 'hang';
  close(): Promise<void>;
}

/** A real webhook receiver on 127.0.0.1 (an ephemeral port). */
export async function startReceiver(answer: Receiver['answer'] = () => 200, path = '/hook'): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const receiver: Receiver = { url: '', requests, answer, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const status = receiver.answer(requests.length, { body });
      if (status === 'hang') {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status: 0 });
        return;
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status });
      // A body the hub must never keep or show.
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`receiver says SECRET-RESPONSE-BODY ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  Object.assign(receiver, {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return receiver;
}

export interface CapturedLogger extends ExchangeLogger {
  readonly lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const emit = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push(JSON.stringify({ level, message, ...fields }));
  return { lines, info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually<T>(condition: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function tempDir(prefix = 'tongxiang-exchange-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Small, fast retry settings for tests. */
export const FAST = Object.freeze({ timeoutMs: 2_000, baseDelayMs: 20, maxDelayMs: 80, maxAttempts: 3 });
