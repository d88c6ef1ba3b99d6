export {
  SHARING_TYPES,
  LEVELS,
  UPDATE_CYCLES,
  SUBJECT_KEYS,
  REGION_SOURCES,
  parseCatalogue,
  loadCatalogue,
  catalogueInvalid,
} from './catalogue.ts';
export type {
  Catalogue,
  CatalogueFile,
  CatalogueResult,
  DepartmentEntry,
  FieldEntry,
  Level,
  RegionSource,
  RegionSpec,
  RowOwnerSpec,
  SharingType,
  SubjectKey,
  TechnicalEntry,
  TypeEntry,
  UpdateCycle,
} from './catalogue.ts';
export { checkCatalogueAgainstSchema, publicSchema, notSharedCoordinates, reachableTypes } from './catalogue-schema.ts';
export {
  MASK_RULES,
  COMPOUND_SURNAMES,
  maskRule,
  maskValue,
  keepEnds,
  keepN,
  idNumber as maskIdNumber,
  creditCode as maskCreditCode,
  name as maskName,
  phone as maskPhone,
  address as maskAddress,
  amount as maskAmount,
} from './masking.ts';
export type { MaskFn } from './masking.ts';
export { collectCoordinates, collectBatchCoordinates } from './coordinates.ts';
export type { CollectedCoordinates, OperationRequest } from './coordinates.ts';
export { DENY_REASONS, decideFieldAccess, describeDenial } from './decide.ts';
export type { Basis, Decision, DecisionGrant, DenyReason, FieldAccessInput, InactiveGrant } from './decide.ts';
export { NO_REGION, rowInScope, rowRegion, rowOwner, regionFromValue, decideRow } from './rows.ts';
export type { RowDecision, RowInput, RowRegion } from './rows.ts';
export { browseCatalogue } from './browse.ts';
export type { BrowseInput, CatalogueListing } from './browse.ts';
