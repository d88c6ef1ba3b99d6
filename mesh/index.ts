export { useUpstreamGuard, upstreamError, describeNetworkFailure } from './upstream-guard.ts';
export type { GuardedSource, UpstreamGuardOptions } from './upstream-guard.ts';
export { toPublicError } from './public-errors.ts';
export { probeSources } from './probes.ts';
export type { SourceStatus } from './probes.ts';
export { settleFileDropStores } from '@tongxiang/filedrop-handler';
export type { ProbeResult } from './probe-result.ts';
export { SOURCE_CALLS, SOURCE_GUARD } from './source-calls.ts';
export type { SourceCall, SourceGuard } from './source-calls.ts';
