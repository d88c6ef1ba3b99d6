import { fileURLToPath } from 'node:url';

export { startSocialInsuranceServer } from './server.ts';
export type { SocialInsuranceServer, SocialInsuranceServerOptions } from './server.ts';
export type { components as SocialInsuranceComponents, paths as SocialInsurancePaths } from './social-insurance.types.ts';

/** File path of the OpenAPI 3.1 contract (the `source` of the SocialInsurance entry in .meshrc.yml). */
export const SOCIAL_INSURANCE_SPEC: string = fileURLToPath(new URL('./social-insurance.openapi.yaml', import.meta.url));
