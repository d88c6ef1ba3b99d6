/**
 * A real Apache Kafka broker for tests: single node, KRaft (broker + controller in one JVM), bound to
 * 127.0.0.1 only. The jars come from Maven Central through scripts/kafka/pom.xml (org.apache.kafka:
 * kafka_2.13 and its runtime dependencies, plus the slf4j → log4j 2 binding Kafka's own distribution
 * ships), copied once into a cache directory and reused.
 *
 *   const broker = await startKafkaBroker();   // broker.brokers === '127.0.0.1:PORT'
 *   await broker.stop();  await broker.start(); // same port, same data
 *   await broker.dispose();                     // stop and remove the data dir
 *
 * By hand: `node --import tsx scripts/kafka/broker.ts [--port 9092] [--data-dir DIR]` starts one in
 * the foreground and prints its address; Ctrl-C stops it.
 *
 * Environment: TONGXIANG_KAFKA_VERSION (default 4.4.0), TONGXIANG_KAFKA_CACHE (default
 * ~/.cache/tongxiang/kafka-<version>), JAVA_HOME (else `java` on PATH), TONGXIANG_KAFKA_MVN (default `mvn`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DEFAULT_KAFKA_VERSION = '4.4.0';

export interface KafkaBroker {
  /** The bootstrap address, `127.0.0.1:PORT`. */
  readonly brokers: string;
  /** The KRaft data directory (also holds server.properties and the logs broker.log / broker.out). */
  readonly dataDir: string;
  /** Graceful shutdown (SIGTERM, controlled shutdown); the data dir is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data dir (after stop() or kill()). */
  start(): Promise<void>;
  /** SIGKILL: a crash, for tests. The data dir is kept. */
  kill(): Promise<void>;
  /** stop() and remove the data dir. */
  dispose(): Promise<void>;
}

export interface StartKafkaBrokerOptions {
  /** The PLAINTEXT port on 127.0.0.1; default: a free port. */
  readonly port?: number;
  /** Default: a new temporary directory. Reused (not formatted again) when it already holds a formatted log. */
  readonly dataDir?: string;
  /** How long to wait for the broker to answer; default 60 s (Maven resolution is not counted). */
  readonly startTimeoutMs?: number;
  /** Kafka version; default $TONGXIANG_KAFKA_VERSION or 4.4.0. */
  readonly version?: string;
  /** Progress lines (Maven resolution, start); default: none. */
  readonly log?: (line: string) => void;
}

const POM = fileURLToPath(new URL('./pom.xml', import.meta.url));
const HEAP = ['-Xmx512m', '-Xms64m'];
const JVM_FLAGS = ['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', '-Dfile.encoding=UTF-8'];
const READY_LINE = 'Kafka Server started';

/** Brokers started by this process, killed if the process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export function kafkaCacheDir(version: string = kafkaVersion()): string {
  return process.env.TONGXIANG_KAFKA_CACHE || join(homedir(), '.cache', 'tongxiang', `kafka-${version}`);
}

function kafkaVersion(): string {
  return process.env.TONGXIANG_KAFKA_VERSION || DEFAULT_KAFKA_VERSION;
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * `<cache>/lib` with kafka_2.13 and its runtime dependencies, resolved by Maven the first time and
 * reused while `<cache>/resolved.json` matches this version and pom.xml.
 */
export async function resolveKafkaJars(options: { version?: string; log?: (line: string) => void } = {}): Promise<string> {
  const version = options.version ?? kafkaVersion();
  const cache = kafkaCacheDir(version);
  const lib = join(cache, 'lib');
  const marker = join(cache, 'resolved.json');
  const fingerprint = createHash('sha256').update(readFileSync(POM)).update(version).digest('hex');
  try {
    const done = JSON.parse(await readFile(marker, 'utf8')) as { fingerprint?: string };
    if (done.fingerprint === fingerprint && existsSync(join(lib, `kafka_2.13-${version}.jar`))) return lib;
  } catch {
    /* not resolved yet */
  }
  await mkdir(cache, { recursive: true });
  const staging = join(cache, `lib.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const mvn = process.env.TONGXIANG_KAFKA_MVN || 'mvn';
  const args = ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime', `-Dkafka.version=${version}`];
  options.log?.(`resolving org.apache.kafka:kafka_2.13:${version} with Maven into ${lib} (first run only)…`);
  const started = Date.now();
  const { code, output } = await run(mvn, args);
  if (code !== 0 || !existsSync(join(staging, `kafka_2.13-${version}.jar`))) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`Maven could not resolve org.apache.kafka:kafka_2.13:${version} (${mvn} exited ${code}):\n${tail(output, 30)}`);
  }
  await rm(lib, { recursive: true, force: true });
  try {
    await rename(staging, lib);
  } catch (e) {
    // Another process resolved it at the same time: use theirs.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(join(lib, `kafka_2.13-${version}.jar`))) throw e;
  }
  await writeFile(marker, JSON.stringify({ version, fingerprint, resolvedAt: new Date().toISOString() }) + '\n');
  options.log?.(`resolved in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return lib;
}

export async function startKafkaBroker(options: StartKafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const version = options.version ?? kafkaVersion();
  const lib = await resolveKafkaJars({ version, ...(options.log ? { log: options.log } : {}) });
  const classpath = join(lib, '*');
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tongxiang-kafka-')));
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  const controllerPort = await freePort([port]);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const logFile = join(dataDir, 'broker.log');
  const outFile = join(dataDir, 'broker.out');
  const propsFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j2.properties');
  const kraftDir = join(dataDir, 'kraft');

  await writeFile(propsFile, serverProperties({ port, controllerPort, kraftDir }));
  await writeFile(log4jFile, log4jProperties(logFile));
  const jvm = [...HEAP, ...JVM_FLAGS, `-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${dataDir}`, '-cp', classpath];

  if (!existsSync(join(kraftDir, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    const { code, output } = await run(javaBin(), [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile]);
    if (code !== 0) {
      throw new Error(`kafka.tools.StorageTool format failed (exit ${code}):\n${tail(output, 30)}`);
    }
  }

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (child) return;
    const from = await size(logFile);
    const out = await open(outFile, 'a');
    const proc = spawn(javaBin(), [...jvm, 'kafka.Kafka', propsFile], { stdio: ['ignore', out.fd, out.fd], cwd: dataDir });
    await out.close();
    child = proc;
    live.add(proc);
    installExitHook();
    if (proc.pid !== undefined) watchdog(proc.pid);
    let exitInfo: string | null = null;
    exited = new Promise<void>((resolve) => {
      proc.once('error', (e) => {
        exitInfo = `could not run ${javaBin()}: ${e.message}`;
        live.delete(proc);
        if (child === proc) child = null;
        resolve();
      });
      proc.once('exit', (code, signal) => {
        exitInfo = `exited with ${signal ?? `code ${code}`}`;
        live.delete(proc);
        if (child === proc) child = null;
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitInfo !== null) throw new Error(`Kafka broker ${exitInfo} before it was ready (logs kept in ${dataDir}); last lines:\n${await lastLines(logFile, outFile)}`);
      const text = await readFrom(logFile, from);
      if (text.includes(READY_LINE) && (await canConnect(port))) return;
      if (Date.now() > deadline) {
        await kill();
        throw new Error(`Kafka broker did not answer within ${timeoutMs} ms (logs kept in ${dataDir}); last lines:\n${await lastLines(logFile, outFile)}`);
      }
      await sleep(100);
    }
  }

  async function signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const proc = child;
    if (!proc) return;
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async function stop(): Promise<void> {
    await signal('SIGTERM', 30_000);
  }

  async function kill(): Promise<void> {
    await signal('SIGKILL', 5_000);
  }

  async function dispose(): Promise<void> {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  // On failure the data dir is kept: its broker.log / broker.out tell why (the error quotes their last lines).
  await start();
  return { brokers: `127.0.0.1:${port}`, dataDir, start, stop, kill, dispose };
}

/**
 * Kills the broker if this process dies without stopping it (a test worker killed by a signal runs
 * no 'exit' hook): a detached shell that polls both pids once a second.
 */
function watchdog(brokerPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${brokerPid} 2>/dev/null; do sleep 1; done; kill -0 ${process.pid} 2>/dev/null || kill -9 ${brokerPid} 2>/dev/null; exit 0`;
  try {
    const w = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
    w.on('error', () => undefined);
    w.unref();
  } catch {
    /* the 'exit' hook still covers a normal exit */
  }
}

function serverProperties(p: { port: number; controllerPort: number; kraftDir: string }): string {
  return [
    '# Written by scripts/kafka/broker.ts: one node, KRaft, loopback only.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.port},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${p.kraftDir}`,
    'num.partitions=3',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'controlled.shutdown.enable=true',
    // After a crash (kill()) the new incarnation waits for the old one's session to expire: 3 s, not 9.
    'broker.session.timeout.ms=3000',
    'broker.heartbeat.interval.ms=500',
    'log.retention.hours=-1',
    'log.segment.bytes=16777216',
    '',
  ].join('\n');
}

function log4jProperties(file: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${file}`,
    'appender.file.append = true',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    // Kafka's distribution quiets these the same way.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = WARN',
    'logger.authorizer.name = kafka.authorizer.logger',
    'logger.authorizer.level = INFO',
    '',
  ].join('\n');
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    proc.once('error', (e) => resolve({ code: -1, output: `${output}\ncould not run ${cmd}: ${e.message}` }));
    proc.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

function freePort(avoid: number[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (avoid.includes(port) ? freePort(avoid).then(resolve, reject) : resolve(port)));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function size(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function readFrom(file: string, from: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const length = Math.max(0, (await handle.stat()).size - from);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, from);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

async function lastLines(...files: string[]): Promise<string> {
  const parts: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim()) parts.push(`--- ${file}\n${tail(text, 40)}`);
  }
  return parts.join('\n') || '(no log written)';
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const portArg = arg('--port');
  const dataDirArg = arg('--data-dir');
  const started = Date.now();
  const broker = await startKafkaBroker({
    ...(portArg ? { port: Number(portArg) } : {}),
    ...(dataDirArg ? { dataDir: dataDirArg } : {}),
    log: (line) => console.error(line),
  });
  console.log(broker.brokers);
  console.error(`Kafka broker ready in ${((Date.now() - started) / 1000).toFixed(1)} s; data and logs in ${broker.dataDir}; Ctrl-C stops it${dataDirArg ? ' (the data dir is kept)' : ' and removes its data'}.`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    (dataDirArg ? broker.stop() : broker.dispose()).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
