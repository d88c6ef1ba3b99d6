export { DEMO_AS_OF, DEMO_SEED, ROSTER_MONTHS, ROSTER_REGIONS, generateDemoData } from './generate.ts';
export type { GenerateOptions } from './generate.ts';
export { INSURANCE_TYPES, indexDemoData } from './indexes.ts';
export type { DemoIndexes, EmployerHeadcount, InsuranceType } from './indexes.ts';
export type {
  DemoAllowanceHousehold,
  DemoData,
  DemoEmployment,
  DemoEnterprise,
  DemoInsuranceRecord,
  DemoPerson,
  NamedRole,
} from './model.ts';
