export { startMarketRegistryServer, wsdlWithAddresses, WSDL_FILE, PATH_SOAP11, PATH_SOAP12 } from './server.ts';
export type { MarketRegistryServer, MarketRegistryServerOptions } from './server.ts';
export { createEnterpriseIndex, MAX_PAGE_SIZE } from './registry.ts';
export type { EnterpriseIndex, SearchPage, SearchQuery } from './registry.ts';
export { createUsernameTokenVerifier } from './username-token.ts';
export type { UsernameTokenVerifier, TokenCheck } from './username-token.ts';
export { xmlText } from './xml-text.ts';
