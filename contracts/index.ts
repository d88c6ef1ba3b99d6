export { CONTRACT_ACTIONS, CONTRACT_STATES } from './model.ts';
export type {
  ActiveGrant,
  Contract,
  ContractAction,
  ContractState,
  ContractTransition,
  FieldGrant,
  GrantMode,
  NewContract,
  NewTransition,
  Quotas,
  RowScope,
} from './model.ts';
export { checkFields, checkScope, checkWindow, LIMITS, parseInstant, validateContractRequest } from './validate.ts';
export type {
  CatalogueEntry,
  CatalogueLookup,
  ContractRequest,
  SharingType,
  ValidContractRequest,
  ValidationResult,
} from './validate.ts';
export { createDraft, narrowFields, renewDraft, transition, TRANSITIONS } from './lifecycle.ts';
export type { Actor, DraftResult, LifecycleAction, TransitionResult } from './lifecycle.ts';
export { activeGrants, activeGrantsSpan, isInForce } from './grants.ts';
export { contractYear, createPgContractStore, createPgliteContractStore } from './store.ts';
export type { ApplyResult, ContractFilter, ContractStore, PgContractStoreOptions, PgliteContractStoreOptions } from './store.ts';
export { createContractService } from './service.ts';
export { CONTRACT_CHANNEL, listenForContractChanges } from './listen.ts';
export type { ContractChange, ContractListener, ContractListenerOptions } from './listen.ts';
export type { ContractService, ContractServiceOptions, RenewOptions } from './service.ts';
export { DEMO_CONTRACTS_PATH, loadSeedContracts, parseSeedContracts } from './seeds.ts';
export type { SeedResult } from './seeds.ts';
