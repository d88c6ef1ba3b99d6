/**
 * The hub: Apollo Server 5 serving the Mesh schema with Mesh's context factory, on Fastify,
 * with /healthz (process up), /readyz (each upstream reachable), the web console at /console/
 * (gateway/console; `/` redirects there), /audit/export for auditors, and graceful shutdown
 * (in-flight requests finish; new connections are refused). Every GraphQL request is
 * authenticated in the `context` function (gateway/identity): no valid token, HTTP 401.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { MeshInstance } from '@graphql-mesh/runtime';
import type { YamlConfig } from '@graphql-mesh/types';
import Fastify, { type FastifyInstance } from 'fastify';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { graphQLError, isTongxiangError, systemClock, type Principal } from '../core/index.ts';
import { probeSources, settleFileDropStores, SOURCE_CALLS, SOURCE_GUARD, SOURCE_RESILIENCE, toPublicError, type CircuitStateName, type CircuitStatus, type SourceGuard, type SourceResilience, type SourceStatus } from '../mesh/index.ts';
import { auditApolloPlugin, bindContext, installAuditHooks, requestAudit } from './audit/http.ts';
import { startHubAudit, type HubAudit } from './audit/hub-audit.ts';
import { extendWithAudit } from './audit/schema.ts';
import type { HubConfig } from './config.ts';
import { startDemoUpstreams, type DemoUpstreams } from './demo.ts';
import { exampleQueries, type ExampleQuery } from './examples.ts';
import { authenticationFailure, createIdentity, type Identity, type IdentityMode } from './identity/index.ts';
import { landingPage } from './landing.ts';
import { createLogger, type Logger } from './log.ts';
import { startGovernance, type Governance } from './governance.ts';
import { startHubLimits, type HubLimits } from './limits/hub-limits.ts';
import type { LimitSettings } from './limits/settings.ts';
import { extendWithLimits } from './limits/schema.ts';
import { loadMesh } from './mesh-loader.ts';
import { registerDropRoutes, startHubDrops, type HubDrops } from './drops/hub-drops.ts';
import { extendWithDrops } from './drops/schema.ts';
import { extendWithExchange, registerExchangeRoutes, startExchange, type Exchange } from './exchange/index.ts';
import { registerAuditExport } from './audit/export-route.ts';
import { departmentDirectory } from './console/departments.ts';
import { extendWithConsole } from './console/schema.ts';
import { consoleOidc, createDemoSignIn, demoSignInAvailable } from './console/sign-in.ts';
import { registerConsole } from './console/static.ts';
import { startObservability, type Observability } from './metrics/index.ts';

export interface HubContext extends BaseContext {
  readonly requestId: string;
  /** The authenticated caller; every request that reaches the graph has one. */
  readonly principal: Principal;
  readonly [key: string]: unknown;
}

export interface HubIdentity {
  readonly mode: IdentityMode;
  readonly issuer: string;
  readonly audience: string;
  readonly keySource: string;
}

export interface Hub {
  /** Base URL, e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly graphqlUrl: string;
  readonly config: HubConfig;
  readonly examples: readonly ExampleQuery[];
  readonly demo: DemoUpstreams | null;
  readonly identity: HubIdentity;
  /** Each source probed, with its circuit (`closed` for sources without one); an open circuit makes the hub not ready. */
  readiness(): Promise<{ ready: boolean; sources: Array<SourceStatus & { circuit: CircuitStateName }> }>;
  /** Circuit state of every source with a breaker (mesh/resilience.ts), e.g. for a metrics gauge. */
  circuits(): ReadonlyArray<CircuitStatus>;
  close(): Promise<void>;
}


async function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function landingPagePlugin(html: string): ApolloServerPlugin<HubContext> {
  return {
    async serverWillStart() {
      return { async renderLandingPage() { return { html }; } };
    },
  };
}

/**
 * Answers are never cached: they depend on the caller's contracts and carry personal data. Set
 * here instead of through Apollo's cache-control plugin, which hooks every resolved field to
 * compute a policy the hub has no use for (`@cacheControl` hints mean nothing across contracts).
 */
function noStorePlugin(): ApolloServerPlugin<HubContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          response.http.headers.set('cache-control', 'no-store');
        },
      };
    },
  };
}

function publicErrorsPlugin(logger: Logger): ApolloServerPlugin<HubContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, errors }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          const requestId = contextValue?.requestId ?? 'unknown';
          response.body.singleResult.errors = response.body.singleResult.errors.map((formatted, i) => {
            const { error, unexpected } = toPublicError(formatted, requestId);
            if (unexpected) {
              const original = errors?.[i];
              logger.error('unexpected error', { requestId, error: original?.message ?? formatted.message, stack: original?.stack });
            }
            return error;
          });
        },
      };
    },
  };
}

async function meshContext(mesh: MeshInstance, requestId: string, principal: Principal, sourceCalls: unknown[], sourceGuard: SourceGuard | null, resilience: SourceResilience): Promise<HubContext> {
  // No consumer headers go into Mesh's context: upstream calls carry only the hub's own credentials.
  const { contextFactory } = mesh.getEnveloped({});
  return (await contextFactory({ requestId, principal, [SOURCE_CALLS]: sourceCalls, [SOURCE_RESILIENCE]: resilience, ...(sourceGuard ? { [SOURCE_GUARD]: sourceGuard } : {}) })) as HubContext;
}

/** SHA-256 over the catalogue files (name and content, in name order): a policy change shows as a new digest. */
async function catalogueDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.yml') || n.endsWith('.yaml')).sort()) {
    hash.update(name + '\0').update(await readFile(join(dir, name))).update('\0');
  }
  return hash.digest('hex');
}

/** The caller, or the GraphQL error Apollo answers with HTTP 401 (never a stack, never jose's words). */
async function authenticate(identity: Identity, authorization: string | undefined, requestId: string, logger: Logger): Promise<Principal> {
  try {
    return await identity.authenticate(authorization);
  } catch (error) {
    if (isTongxiangError(error) && error.code === 'UNAUTHENTICATED') throw authenticationFailure(error);
    logger.error('authentication failed unexpectedly', { requestId, error: isTongxiangError(error) ? error.code : String(error) });
    throw graphQLError('INTERNAL', { requestId });
  }
}

function maxTokensOf(limits: LimitSettings): number {
  return Math.max(limits.operation.maxTokens, ...Object.values(limits.operationByDepartment).map((l) => l.maxTokens));
}

export interface StartOptions {
  readonly logger?: Logger;
  /**
   * Benchmarks only, to measure the policy tax: no token verification (every request acts as this
   * principal) and no field enforcement. Not reachable from configuration or the CLI.
   */
  readonly benchmarkWithoutPolicies?: { readonly principal: Principal };
  /** Benchmarks only, to measure the audit's cost: no audit trail at all. Not reachable from configuration. */
  readonly benchmarkWithoutAudit?: boolean;
  /** Benchmarks only, to measure the limits' cost: no rate limits, quotas or operation limits. Not reachable from configuration. */
  readonly benchmarkWithoutLimits?: boolean;
}

export async function startHub(config: HubConfig, options: StartOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger();
  await mkdir(config.dataDir, { recursive: true });

  const identity = await createIdentity(config.identity, {
    dataDir: config.dataDir,
    onUnexpected: (error) => logger.warn('token verification failed on the hub side', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  });
  if (identity.mode === 'local' && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
    logger.warn('the hub signs its own tokens (local issuer) while listening beyond this machine; set TONGXIANG_OIDC_ISSUER or TONGXIANG_JWKS_FILE in production', { host: config.host });
  }

  let demo: DemoUpstreams | null = null;
  let effective = config;
  if (config.demo) {
    demo = await startDemoUpstreams({ dataDir: config.dataDir, soapVersion: config.variables.TONGXIANG_SAMR_SOAP_VERSION });
    effective = Object.freeze({ ...config, variables: Object.freeze({ ...config.variables, ...demo.variables }) });
  }

  let mesh: MeshInstance | undefined;
  let app: FastifyInstance | undefined;
  let governance: Governance<HubContext> | undefined;
  let audit: HubAudit | undefined;
  let limits: HubLimits | undefined;
  let drops: HubDrops | null = null;
  let exchange: Exchange | undefined;
  let observability: Observability | undefined;
  try {
    const loaded = await loadMesh(effective, logger);
    mesh = loaded.mesh;
    const unguarded = options.benchmarkWithoutPolicies;
    if (!options.benchmarkWithoutAudit) {
      audit = await startHubAudit(effective, logger, { catalogueDigest: await catalogueDigest(join(effective.meshDir, 'policies', 'catalogue')) });
    }
    const hubAudit = audit;
    // The limits measure operations against the public schema, which exists once governance has
    // started — and governance itself runs the limits in its pipeline.
    const late: { schema?: GraphQLSchema } = {};
    if (!unguarded && !options.benchmarkWithoutLimits) {
      limits = await startHubLimits({
        settings: effective.limits,
        logger,
        clock: systemClock,
        schema: () => late.schema!,
      });
    }
    const hubLimits = limits;
    governance = await startGovernance<HubContext>(effective, mesh.schema, logger, {
      admission: hubLimits?.admission,
      enforce: !unguarded,
      onTransition: hubAudit
        ? ({ contract, transition }) =>
            hubAudit.admin('contract-transition', { department: transition.actorDepartment, user: transition.actor }, {
              contractId: contract.id,
              action: transition.action,
              from: transition.from,
              to: transition.to,
              consumer: contract.consumer,
              provider: contract.provider,
              reason: transition.reason,
            })
        : undefined,
    });
    const meshConfig: YamlConfig.Config = loaded.config;
    const examples = exampleQueries(demo?.examples ?? { applicant: '341504198001010011', enterprise: '91341504MA2N00000X' });

    app = Fastify({ logger: false, forceCloseConnections: 'idle', return503OnClosing: true });
    const withAudit = hubAudit ? extendWithAudit(governance.schema, { audit: hubAudit, catalogue: governance.catalogue }) : governance.schema;
    const withLimits = hubLimits ? extendWithLimits(withAudit, { limits: hubLimits, contracts: governance.contracts }) : withAudit;

    // The file-drop exchange: the pipeline the Mesh handler made, a watcher on the drop folders,
    // uploads, rollback, and change events to subscribers (webhooks, SSE, Kafka).
    const adminActor = (department: string | null, user: string | null) => ({ department, user: user ?? 'system' });
    drops = await startHubDrops({
      sources: loaded.config.sources,
      meshDir: effective.meshDir,
      logger,
      watch: effective.exchange.watch,
      usePolling: effective.exchange.usePolling,
      maxUploadBytes: effective.exchange.maxUploadBytes,
      onReport: hubAudit
        ? (r) =>
            void hubAudit
              .admin(r.outcome === 'rejected' ? 'dataset-rejected' : 'dataset-published', adminActor(r.department, r.actor), {
                dataset: r.dataset, department: r.department, report: r.id, outcome: r.outcome, version: r.version,
                rowsAccepted: r.rowsAccepted, rowsRejected: r.rowsRejected,
              })
              .catch((error: unknown) => logger.error('audit of a file drop failed', { error: String(error) }))
        : undefined,
    });
    const hubDrops = drops;
    if (hubDrops) {
      exchange = await startExchange({
        pipeline: hubDrops.pipeline,
        contracts: governance.contracts,
        dataDir: effective.dataDir,
        database: governance.database,
        kafka: effective.audit.kafkaBrokers ? { brokers: effective.audit.kafkaBrokers, topic: effective.exchange.kafkaTopic } : undefined,
        webhookAllow: effective.exchange.webhookAllow ?? undefined,
        logger,
        onAdminEvent: hubAudit
          ? (kind, actor, details) => hubAudit.admin(kind, adminActor(actor.department.code, actor.subject), details)
          : undefined,
      });
    }
    const withDrops = hubDrops
      ? extendWithDrops(withLimits, {
          pipeline: () => hubDrops.pipeline,
          onRollback: hubAudit
            ? (principal, version) =>
                void hubAudit
                  .admin('dataset-rollback', adminActor(principal.department.code, principal.subject), {
                    dataset: version.dataset, department: version.department, version: version.version, restoredFrom: version.restoredFrom,
                  })
                  .catch((error: unknown) => logger.error('audit of a rollback failed', { error: String(error) }))
            : undefined,
        })
      : withLimits;
    const withExchange = exchange ? extendWithExchange(withDrops, { exchange }) : withDrops;

    const probe = () => probeSources(meshConfig.sources, Math.min(2000, effective.upstreamTimeoutMs), effective.meshDir);
    const circuits = () => loaded.resilience.circuits();
    const readiness = async () => {
      const states = new Map(circuits().map((c) => [c.source, c.state]));
      const sources = (await probe()).map((s) => ({ ...s, circuit: states.get(s.name) ?? ('closed' as const) }));
      return { ready: sources.every((s) => s.ok && s.circuit !== 'open'), sources };
    };

    // The web console: what its pages ask the graph beyond the public API, and its departments.
    const consoleDepartments = departmentDirectory(governance.catalogue, hubDrops?.pipeline.datasets.flatMap((d) => d.intake.departments) ?? []);
    const schema = extendWithConsole(withExchange, {
      audit: hubAudit ?? null,
      contracts: governance.contracts,
      pipeline: hubDrops ? () => hubDrops.pipeline : null,
      probeSources: probe,
      circuits,
      catalogue: governance.catalogue,
      departments: consoleDepartments,
    });
    late.schema = schema;
    // Metrics at /metrics and, when configured, traces (gateway/metrics): hooks before the routes.
    observability = await startObservability(effective, { audit: hubAudit ?? null, datasets: () => hubDrops?.pipeline ?? null, circuits, logger });
    observability.install(app);
    const apollo = new ApolloServer<HubContext>({
      schema,
      introspection: true,
      includeStacktraceInErrorResponses: false,
      csrfPrevention: true,
      // The parser itself stops at the largest token limit any department has: a huge document
      // (deep nesting overflows graphql's recursive parser) never gets as far as the limits.
      ...(hubLimits ? { parseOptions: { maxTokens: maxTokensOf(effective.limits) } } : {}),
      // The hub owns shutdown: the CLI handles signals, close() drains HTTP within the grace period.
      stopOnTerminationSignals: false,
      plugins: [ApolloServerPluginCacheControlDisabled(), noStorePlugin(), governance.plugin, landingPagePlugin(landingPage(examples)), publicErrorsPlugin(logger), ...(hubAudit ? [auditApolloPlugin<HubContext>()] : []), ...observability.plugins],
    });
    await apollo.start();

    if (hubAudit) {
      installAuditHooks(app, { path: '/graphql', audit: hubAudit, catalogue: governance.catalogue, logger, mode: effective.audit.mode, queueLimit: effective.audit.queueLimit });
      // The public keys of the audit checkpoints, for auditors verifying offline.
      app.get('/audit/jwks.json', async (_req, reply) => {
        reply.header('cache-control', 'no-cache');
        return hubAudit.keyring.publicJwks();
      });
    }
    const authenticateCaller = (authorization: string | undefined) => identity.authenticate(authorization);
    if (hubAudit) {
      registerAuditExport(app, {
        audit: hubAudit,
        authenticate: authenticateCaller,
        onError: (error) => logger.error('audit export failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
      });
    }
    const demoSignIn = demoSignInAvailable(effective.identity, effective.demo)
      ? createDemoSignIn({
          identity: effective.identity,
          dataDir: effective.dataDir,
          departments: consoleDepartments,
          onIssued: hubAudit
            ? (e) => hubAudit.admin('console-demo-sign-in', { department: e.department, user: e.subject }, { department: e.department, role: e.role, client: e.client })
            : undefined,
        })
      : null;
    if (demoSignIn && !['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
      logger.warn('the console offers demo sign-in (a token for any department and role) while listening beyond this machine', { host: config.host });
    }
    registerConsole(app, {
      distDir: effective.console.distDir,
      graphqlPath: '/graphql',
      oidc: consoleOidc(effective.identity, effective.console),
      demoSignIn,
      examples,
      onError: (error) => logger.error('console route failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    });
    if (hubDrops) registerDropRoutes(app, hubDrops, authenticateCaller);
    if (exchange) {
      registerExchangeRoutes(app, exchange, {
        authenticate: authenticateCaller,
        onError: (error) => logger.error('change-event stream failed', { error: error instanceof Error ? error.name : String(error) }),
      });
    }
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const result = await readiness();
      reply.code(result.ready ? 200 : 503);
      return { status: result.ready ? 'ready' : 'degraded', sources: result.sources };
    });
    app.get('/', async (_req, reply) => reply.redirect('/console/'));
    const handler = fastifyApolloHandler(apollo, {
      context: async (request, reply) => {
        const facts = requestAudit(request);
        const requestId = facts.requestId;
        reply.header('x-request-id', requestId);
        let principal: Principal;
        try {
          principal = unguarded ? unguarded.principal : await authenticate(identity, request.headers.authorization, requestId, logger);
        } catch (error) {
          facts.reason = String((error as GraphQLError).extensions?.reason ?? (error as GraphQLError).extensions?.code ?? 'unauthenticated');
          // Callers without valid credentials share a small budget per address: 429 once it is spent.
          if (hubLimits) {
            try {
              await hubLimits.anonymous(request.ip);
            } catch (refused) {
              facts.reason = `anonymous rate limit; ${facts.reason}`;
              throw refused;
            }
          }
          throw error;
        }
        facts.principal = principal;
        const context = await meshContext(mesh!, requestId, principal, facts.sources, hubLimits ? hubLimits.sourceGuard : null, loaded.resilience);
        bindContext(facts, context);
        return context;
      },
    });
    app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler });

    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        const force = setTimeout(() => app!.server.closeAllConnections(), config.shutdownGraceMs);
        force.unref();
        try {
          await app!.close(); // stops accepting; in-flight requests finish, idle keep-alive sockets close
          await apollo.stop();
        } finally {
          clearTimeout(force);
          await drops?.close().catch(() => undefined);
          await exchange?.close().catch(() => undefined);
          mesh!.destroy();
          // Mesh's destroy is synchronous; the dataset store closes asynchronously. Wait for it,
          // within the grace period, so nothing still writes to the data directory.
          await withDeadline(Promise.all([settleFileDropStores(), governance!.close()]), config.shutdownGraceMs);
          await audit?.close();
          await limits?.close();
          await observability?.close();
          await demo?.close();
        }
      })();
      return closing;
    };

    const hubIdentity: HubIdentity = Object.freeze({ mode: identity.mode, issuer: identity.issuer, audience: identity.audience, keySource: identity.keySource });
    return Object.freeze({ url, graphqlUrl: `${url}/graphql`, config: effective, examples, demo, identity: hubIdentity, readiness, circuits, close });
  } catch (error) {
    await app?.close().catch(() => undefined);
    await drops?.close().catch(() => undefined);
    await exchange?.close().catch(() => undefined);
    mesh?.destroy();
    await withDeadline(Promise.all([settleFileDropStores(), governance?.close()]), config.shutdownGraceMs);
    await audit?.close().catch(() => undefined);
    await limits?.close().catch(() => undefined);
    await observability?.close().catch(() => undefined);
    await demo?.close();
    throw error;
  }
}
