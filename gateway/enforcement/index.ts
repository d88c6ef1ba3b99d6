export { createEnforcement, ENFORCEMENT_MODES } from './enforcement.ts';
export type { Admission, Enforcement, EnforcementContext, EnforcementOptions } from './enforcement.ts';
export { decisionRecordOf } from './state.ts';
export type { CoordinateRecord, DecisionKind, DecisionRecord, EnforcementMode, RowQuota } from './state.ts';
export { RESERVED_ALIAS_PREFIX } from './selection.ts';
