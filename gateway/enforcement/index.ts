export { createEnforcement, ENFORCEMENT_MODES } from './enforcement.ts';
export type { Enforcement, EnforcementContext, EnforcementOptions } from './enforcement.ts';
export { decisionRecordOf } from './state.ts';
export type { CoordinateRecord, DecisionKind, DecisionRecord, EnforcementMode } from './state.ts';
export { RESERVED_ALIAS_PREFIX } from './selection.ts';
