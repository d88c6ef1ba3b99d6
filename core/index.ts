export { ERRORS, TongxiangError, formatMessage, isTongxiangError } from './errors.ts';
export type { ErrorCode, ErrorDefinition, ErrorFields } from './errors.ts';
export {
  idNumberCheckDigit,
  orgCodeCheckDigit,
  validateIdNumber,
  creditCodeCheckDigit,
  validateCreditCode,
} from './check-digits.ts';
export type { CheckResult } from './check-digits.ts';
export { REGIONS, regionName, regionLevel, isWithinRegion, parentRegion } from './regions.ts';
export type { Region, RegionLevel } from './regions.ts';
export { toGraphQLError, graphQLError } from './graphql-errors.ts';
export { ROLES, parseDepartment, isRole, systemClock } from './principal.ts';
export type { Role, Department, Principal, Clock } from './principal.ts';
