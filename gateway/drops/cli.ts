/**
 * `tongxiang drop <verb>` — the file-drop exchange on the command line.
 *
 * - `ingest FILE --dataset D`: uploads the file to the running hub (`PUT /drops/D/<name>` with the
 *   department's token: the department is the token's), with a progress bar, and prints the
 *   report. The hub runs it through the same pipeline as a file dropped into the folder.
 * - `rollback --dataset D --department DEPT --to N`, `versions`, `status`, `reports`: the hub's
 *   GraphQL API (`rollbackDataset`, `datasetVersions`, `datasetStatus`, `dropReports`), so
 *   identity, authorization and audit apply as for any client.
 * - subscription verbs (`subscribe`, `cancel`, `subscriptions`, `dead-letters`, `replay`,
 *   `deliveries`) from gateway/exchange/cli.ts.
 *
 * Connection: `--url` (env TONGXIANG_URL, default http://127.0.0.1:4000/graphql) and `--token`
 * (env TONGXIANG_TOKEN). Exit codes: 0 done, 1 refused or rejected (the reason on stderr), 2 bad
 * arguments.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { DEFAULT_URL, httpExecute, type GraphQLResponse } from '../admin/cli.ts';
import { EXCHANGE_CLI_USAGE, EXCHANGE_CLI_VERBS } from '../exchange/cli.ts';

export interface DropCliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
  /** Draw a progress bar (a terminal); otherwise a line per 10 %. */
  readonly tty: boolean;
}

const defaultIo = (): DropCliIo => ({
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
  fetch: globalThis.fetch,
  tty: Boolean(process.stderr.isTTY),
});

export const DROP_SUMMARY =
  '文件投递 / file drops  ingest FILE --dataset D | rollback --dataset D --department DEPT --to N | versions | status | reports | subscribe | cancel | subscriptions | dead-letters | replay | deliveries  [--url U --token T] [--json]';

const USAGE = `用法 / usage: tongxiang drop <verb> [options]

  ingest FILE --dataset D              上传文件并处理（部门取自令牌）/ upload a file for your department and ingest it
  rollback --dataset D --department DEPT --to N
                                       以旧版本数据发布新版本 / publish version N's rows again as a new version
  versions --dataset D --department DEPT   数据集版本 / versions of a department's dataset
  status [--dataset D] [--overdue]     时效状态 / freshness against the update cycle
  reports [--dataset D] [--department DEPT] [--first N]   质量报告 / quality reports
  订阅（见下）/ subscriptions: subscribe | cancel | subscriptions | dead-letters | replay | deliveries

连接 / connection:
  --url URL       枢纽 GraphQL 地址 / hub GraphQL URL (env TONGXIANG_URL, default ${DEFAULT_URL})
  --token JWT     令牌 / bearer token (env TONGXIANG_TOKEN)
  --json          输出 JSON / print JSON for scripts

${EXCHANGE_CLI_USAGE}`;

const OUTCOME_ZH: Record<string, string> = {
  published: '已发布 / published',
  'partially-published': '部分发布，问题行已隔离 / partially published, problem rows quarantined',
  unchanged: '内容未变化，未产生新版本 / unchanged, no new version',
  rejected: '已拒绝，上一版本继续提供 / rejected, the previous version stays',
};

class UsageError extends Error {}

interface ReportBody {
  readonly id: string;
  readonly outcome: string;
  readonly version: number | null;
  readonly rowsTotal: number;
  readonly rowsAccepted: number;
  readonly rowsRejected: number;
  readonly reason: string | null;
  readonly movedTo: string | null;
  readonly reportFiles: readonly string[];
  readonly issues: readonly { row: number; column: string | null; reason: string }[];
}

/** Upload URL for a dataset and file name, next to the GraphQL endpoint. */
export function uploadUrl(graphqlUrl: string, dataset: string, fileName: string): string {
  const base = new URL(graphqlUrl);
  base.pathname = `/drops/${encodeURIComponent(dataset)}/${encodeURIComponent(fileName)}`;
  base.search = '';
  return base.href;
}

function progressReporter(io: DropCliIo, total: number): { update(bytes: number): void; stop(): void } {
  if (io.tty) {
    const bar = new SingleBar({
      format: '上传 / uploading [{bar}] {percentage}% | {value}/{total} 字节 bytes',
      hideCursor: true,
      stream: process.stderr,
    });
    bar.start(total, 0);
    return { update: (b) => bar.update(b), stop: () => bar.stop() };
  }
  let lastTenth = -1;
  return {
    update(bytes) {
      const tenth = total === 0 ? 10 : Math.floor((bytes / total) * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.stderr(`上传 / uploading ${Math.min(100, tenth * 10)}%\n`);
      }
    },
    stop: () => undefined,
  };
}

function printReport(io: DropCliIo, r: ReportBody): void {
  const lines = [
    `结果 / outcome: ${OUTCOME_ZH[r.outcome] ?? r.outcome}`,
    `报告 / report: ${r.id}${r.version === null ? '' : `   版本 / version: v${r.version}`}`,
    `行数 / rows: ${r.rowsTotal}   接受 / accepted: ${r.rowsAccepted}   问题 / with problems: ${r.rowsRejected}`,
  ];
  if (r.reason) lines.push(`原因 / reason: ${r.reason}`);
  if (r.movedTo) lines.push(`原文件 / original: ${r.movedTo}`);
  for (const f of r.reportFiles) lines.push(`报告文件 / report file: ${f}`);
  const shown = r.issues.slice(0, 20);
  if (shown.length > 0) {
    lines.push('问题（前 20 条）/ problems (first 20):');
    // Row, column and reason only: cell values stay in the report files.
    for (const i of shown) lines.push(`  第 ${i.row} 行 / row ${i.row}  ${i.column ?? ''}  ${i.reason}`);
  }
  io.stdout(lines.join('\n') + '\n');
}

async function ingest(file: string | undefined, values: Values, io: DropCliIo, url: string, token: string | undefined): Promise<number> {
  if (!file) throw new UsageError('ingest 需要文件路径 / ingest needs a FILE');
  if (!values.dataset) throw new UsageError('ingest 需要 --dataset / ingest needs --dataset');
  if (!token) throw new UsageError('需要令牌：--token 或环境变量 TONGXIANG_TOKEN / a token is needed: --token or TONGXIANG_TOKEN');
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    io.stderr(`无法读取文件 / cannot read the file: ${file}\n`);
    return 1;
  }
  const progress = progressReporter(io, size);
  let sent = 0;
  const counting = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      progress.update(sent);
      callback(null, chunk);
    },
  });
  const body = Readable.toWeb(createReadStream(file).pipe(counting)) as ReadableStream<Uint8Array>;
  let response: Response;
  try {
    response = await io.fetch(uploadUrl(url, values.dataset, basename(file)), {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
      duplex: 'half',
    } as RequestInit);
  } catch (error) {
    progress.stop();
    io.stderr(`无法连接枢纽 / cannot reach the hub at ${url}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  progress.stop();
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    io.stderr(`枢纽返回了无法识别的应答 / unexpected answer from the hub (HTTP ${response.status})\n`);
    return 1;
  }
  const error = (parsed as { error?: { code?: string; messageZh?: string; messageEn?: string } }).error;
  if (error) {
    io.stderr(`${error.code ?? 'ERROR'}: ${error.messageZh ?? ''} / ${error.messageEn ?? ''}\n`);
    return 1;
  }
  const report = parsed as ReportBody;
  if (values.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else printReport(io, report);
  return report.outcome === 'rejected' ? 1 : 0;
}

interface Values {
  readonly dataset?: string | undefined;
  readonly department?: string | undefined;
  readonly to?: string | undefined;
  readonly first?: string | undefined;
  readonly overdue?: boolean | undefined;
  readonly json?: boolean | undefined;
}

async function graphqlVerb(
  io: DropCliIo,
  url: string,
  token: string | undefined,
  json: boolean,
  query: string,
  variables: Record<string, unknown>,
  render: (data: Record<string, unknown>) => string,
): Promise<number> {
  const result: GraphQLResponse = await httpExecute(url, token, io.fetch)(query, variables);
  if (result.errors?.length) {
    for (const e of result.errors) io.stderr(`${String(e.extensions?.code ?? 'ERROR')}: ${e.message}\n`);
    return 1;
  }
  io.stdout((json ? JSON.stringify(result.data, null, 2) : render(result.data ?? {})) + '\n');
  return 0;
}

const VERSIONS = `query($dataset: String!, $department: String!) { datasetVersions(dataset: $dataset, department: $department) { version kind fileName restoredFrom rows added changed removed publishedAt } }`;
const STATUS = `query($dataset: String, $overdue: Boolean) { datasetStatus(dataset: $dataset, overdueOnly: $overdue) { dataset title department currentVersion rows lastPublishedAt cycle dueAt state overdue } }`;
const REPORTS = `query($dataset: String, $department: String, $first: Int) { dropReports(dataset: $dataset, department: $department, first: $first) { id fileName department dataset outcome version rowsTotal rowsAccepted rowsRejected reason finishedAt } }`;
const ROLLBACK = `mutation($dataset: String!, $department: String!, $to: Int!) { rollbackDataset(dataset: $dataset, department: $department, toVersion: $to) { dataset department version kind restoredFrom rows added changed removed publishedAt } }`;

type Row = Record<string, unknown>;
const table = (rows: readonly Row[], columns: readonly string[]): string =>
  rows.length === 0 ? '（无 / none）' : [columns.join('\t'), ...rows.map((r) => columns.map((c) => String(r[c] ?? '')).join('\t'))].join('\n');

export async function runDropCli(argv: string[], io: DropCliIo = defaultIo()): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    io.stdout(USAGE);
    return verb ? 0 : 2;
  }
  const exchangeVerb = (EXCHANGE_CLI_VERBS as Record<string, ((args: string[], io: DropCliIo) => Promise<number>) | undefined>)[verb];
  if (exchangeVerb) return exchangeVerb(rest, io);
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        dataset: { type: 'string' },
        department: { type: 'string' },
        to: { type: 'string' },
        first: { type: 'string' },
        overdue: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const url = values.url ?? io.env.TONGXIANG_URL ?? DEFAULT_URL;
    const token = values.token ?? io.env.TONGXIANG_TOKEN;
    const json = values.json === true;
    const need = (name: 'dataset' | 'department' | 'to') => {
      const v = values[name];
      if (!v) throw new UsageError(`${verb} 需要 --${name} / ${verb} needs --${name}`);
      return v;
    };
    switch (verb) {
      case 'ingest':
        return await ingest(positionals[0], values, io, url, token);
      case 'rollback': {
        const to = Number(need('to'));
        if (!Number.isInteger(to) || to < 1) throw new UsageError('--to 应为版本号（正整数）/ --to must be a version number');
        return await graphqlVerb(io, url, token, json, ROLLBACK, { dataset: need('dataset'), department: need('department'), to }, (d) => {
          const v = d.rollbackDataset as Row;
          return `已发布 v${v.version}（恢复自 v${v.restoredFrom}）/ published v${v.version}, restored from v${v.restoredFrom}: ${v.rows} 行 rows, +${v.added} ~${v.changed} -${v.removed}`;
        });
      }
      case 'versions':
        return await graphqlVerb(io, url, token, json, VERSIONS, { dataset: need('dataset'), department: need('department') }, (d) =>
          table(d.datasetVersions as Row[], ['version', 'kind', 'fileName', 'restoredFrom', 'rows', 'added', 'changed', 'removed', 'publishedAt']),
        );
      case 'status':
        return await graphqlVerb(io, url, token, json, STATUS, { dataset: values.dataset ?? null, overdue: values.overdue === true }, (d) =>
          table(d.datasetStatus as Row[], ['dataset', 'department', 'currentVersion', 'rows', 'lastPublishedAt', 'cycle', 'dueAt', 'state']),
        );
      case 'reports': {
        const first = values.first === undefined ? 50 : Number(values.first);
        if (!Number.isInteger(first) || first < 1) throw new UsageError('--first 应为正整数 / --first must be a positive integer');
        return await graphqlVerb(io, url, token, json, REPORTS, { dataset: values.dataset ?? null, department: values.department ?? null, first }, (d) =>
          table(d.dropReports as Row[], ['id', 'department', 'dataset', 'fileName', 'outcome', 'version', 'rowsAccepted', 'rowsRejected', 'reason']),
        );
      }
      default:
        throw new UsageError(`未知操作 / unknown verb: ${verb}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`参数错误 / bad arguments: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
