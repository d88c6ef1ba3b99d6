export type { LimitStore, QuotaRule, QuotaTake, QuotaWindow, RateDecision, RateRule } from './types.ts';
export {
  checkCost,
  decodeGcraState,
  encodeGcraState,
  gcraDebt,
  gcraHit,
  gcraPeek,
  limitKeyProblem,
  validateRateRule,
  validateRateRules,
  wholeMs,
} from './gcra.ts';
export type { GcraOutcome, GcraState } from './gcra.ts';
export { checkWanted, quotaGrant, quotaTakeOf, quotaWindow, validateQuotaRule } from './quota-window.ts';
export { createMemoryLimitStore } from './memory-store.ts';
export type { MemoryLimitStore, MemoryLimitStoreOptions } from './memory-store.ts';
export { openRedisLimitStore } from './redis-store.ts';
export type { RedisLimitStoreOptions } from './redis-store.ts';
export {
  DEFAULT_OPERATION_LIMITS,
  MAX_LIST_SIZE,
  SIZE_ARGUMENTS,
  checkOperation,
  countTokens,
  measureOperation,
  validateOperationLimits,
} from './operation.ts';
export type { MeasureOptions, OperationLimits, OperationMeasure, OperationMeasures, OperationVerdict } from './operation.ts';
