export { CONTRACT_STATES } from './model.ts';
export type {
  ActiveGrant,
  Contract,
  ContractAction,
  ContractState,
  ContractTransition,
  FieldGrant,
  GrantMode,
  Quotas,
  RowScope,
} from './model.ts';
