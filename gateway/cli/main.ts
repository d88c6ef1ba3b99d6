/**
 * `tongxiang <command>` — the hub's command line. Later issues add commands (contracts, audit,
 * drop); each is a small module registered in COMMANDS.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TongxiangError, isTongxiangError } from '../../core/index.ts';
import { contractsCommand } from '../admin/cli.ts';
import { runAuditCli } from '../audit/cli.ts';
import { DROP_SUMMARY, runDropCli } from '../drops/cli.ts';
import { loadConfig } from '../config.ts';
import { DEFAULT_TTL_SECONDS, issueLocalToken, parseTtl } from '../identity/index.ts';
import { createLogger } from '../log.ts';
import { startHub, type Hub } from '../server.ts';

interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

/** A word for a POSIX shell: as is when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** How to get a token for the example: `tongxiang token` on the local issuer, else the issuer's own way. */
function tokenLine(hub: Hub): string {
  if (hub.identity.mode !== 'local') {
    return `# TOKEN: 由 ${hub.identity.issuer} 签发的令牌 / a token issued by ${hub.identity.issuer} (aud ${hub.identity.audience})`;
  }
  const dataDir = hub.config.dataDir === resolve('data') ? '' : ` --data-dir ${shellWord(hub.config.dataDir)}`;
  return `TOKEN=$(npx tongxiang token --dept 341504.mzj --role developer${dataDir})`;
}

function banner(hub: Hub): string {
  const example = hub.examples[0]!;
  const body = JSON.stringify({ query: example.query.replace(/\s+/g, ' '), variables: example.variables });
  const lines = [
    '',
    `通享 Tongxiang 已启动 / is up: ${hub.graphqlUrl}`,
    `  健康检查 / health:    ${hub.url}/healthz   就绪 / ready: ${hub.url}/readyz`,
    `  浏览器打开 / open in a browser: ${hub.url}/console/   查询页 / query page: ${hub.graphqlUrl}`,
  ];
  if (hub.demo) {
    lines.push(
      '  演示数据源 / demo upstreams:',
      `    SOAP 安徽省市场监督管理局法人库  ${hub.demo.registryEndpoint}`,
      `    REST 六安市人社局社保接口        ${hub.demo.insuranceUrl}`,
      `    文件 叶集区/利辛县民政局低保名册  ${hub.demo.dropDir}`,
    );
  }
  lines.push(
    '',
    `示例 / Example — ${example.title}:`,
    tokenLine(hub),
    `curl -s ${hub.graphqlUrl} -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
    `  --data '${body.replace(/'/g, "'\\''")}'`,
    '',
  );
  return lines.join('\n');
}

const start: Command = {
  summary: '启动枢纽 / start the hub  [--demo] [--port N] [--host H] [--data-dir DIR] [--config FILE]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean', default: false },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
    });
    const overrides: Record<string, unknown> = {};
    if (values.demo) overrides.demo = true;
    if (values.port !== undefined) overrides.port = Number(values.port);
    if (values.host !== undefined) overrides.host = values.host;
    if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
    const config = loadConfig({ env: process.env, file: values.config, overrides });
    const logger = createLogger();
    const hub = await startHub(config, { logger });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      hub.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error: String(error) });
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // The banner says the hub is up: whoever reads it may signal at once (a supervisor, a test),
    // so the handlers are in place first — a SIGTERM in between would kill it without a clean stop.
    process.stdout.write(banner(hub) + '\n');
    return new Promise<number>(() => undefined); // runs until a signal arrives
  },
};

function defaultSubject(): string {
  try {
    const name = userInfo().username;
    return name.length > 0 ? name : 'local-user';
  } catch {
    return 'local-user';
  }
}

const token: Command = {
  summary: '签发本地令牌 / print a token of the local issuer  --dept CODE --role ROLE [--role ...] [--sub NAME] [--client ID] [--ttl 8h] [--data-dir DIR] [--config FILE]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        dept: { type: 'string' },
        role: { type: 'string', multiple: true },
        sub: { type: 'string' },
        client: { type: 'string' },
        ttl: { type: 'string' },
        'data-dir': { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
    });
    if (!values.dept) throw new TongxiangError('BAD_USER_INPUT', { reason: '--dept is required, e.g. --dept 341504.mzj' });
    if (!values.role?.length) throw new TongxiangError('BAD_USER_INPUT', { reason: '--role is required, e.g. --role developer' });
    const ttlSeconds = values.ttl === undefined ? DEFAULT_TTL_SECONDS : parseTtl(values.ttl);
    if (ttlSeconds === null) throw new TongxiangError('BAD_USER_INPUT', { reason: `--ttl must look like 30m, 8h or 7d (got ${JSON.stringify(values.ttl)})` });
    const overrides = values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] };
    const config = loadConfig({ env: process.env, file: values.config, overrides });
    const jwt = await issueLocalToken(config.identity, config.dataDir, {
      subject: values.sub ?? defaultSubject(),
      department: values.dept,
      roles: values.role,
      client: values.client ?? null,
      ttlSeconds,
    });
    process.stdout.write(jwt + '\n'); // the token alone, so TOKEN=$(tongxiang token ...) works
    return 0;
  },
};

const audit: Command = {
  summary: '审计链校验与导出 / verify and export the audit trail  verify [--data-dir DIR | --file F | --kafka B] [--keys JWKS] | export --out F [--from ISO] [--to ISO]',
  run: (argv) => runAuditCli(argv, { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env }),
};

const drop: Command = {
  summary: DROP_SUMMARY,
  run: (argv) => runDropCli(argv),
};

const COMMANDS: Record<string, Command> = { start, token, contracts: contractsCommand, audit, drop };

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  tongxiang ${name.padEnd(8)} ${c.summary}`);
  return ['用法 / usage:', ...rows, '  tongxiang help     本帮助 / this help', ''].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`未知命令 / unknown command: ${name}\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (isTongxiangError(error)) {
      process.stderr.write(`[${error.code}] ${error.messageZh}\n[${error.code}] ${error.messageEn}\n`);
      return 1;
    }
    if (error instanceof TypeError && 'code' in error && String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`参数错误 / bad arguments: ${error.message}\n${usage()}`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
