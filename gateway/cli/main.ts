/**
 * `tongxiang <command>` — the hub's command line. Later issues add commands (token, contracts,
 * audit, drop); each is a small module registered in COMMANDS.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TongxiangError, isTongxiangError } from '../../core/index.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { startHub, type Hub } from '../server.ts';

interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

function banner(hub: Hub): string {
  const example = hub.examples[0]!;
  const body = JSON.stringify({ query: example.query.replace(/\s+/g, ' '), variables: example.variables });
  const lines = [
    '',
    `通享 Tongxiang 已启动 / is up: ${hub.graphqlUrl}`,
    `  健康检查 / health:    ${hub.url}/healthz   就绪 / ready: ${hub.url}/readyz`,
    `  浏览器打开 / open in a browser: ${hub.graphqlUrl}`,
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
    `curl -s ${hub.graphqlUrl} -H 'content-type: application/json' \\`,
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
    process.stdout.write(banner(hub) + '\n');
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
    return new Promise<number>(() => undefined); // runs until a signal arrives
  },
};

const COMMANDS: Record<string, Command> = { start };

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
