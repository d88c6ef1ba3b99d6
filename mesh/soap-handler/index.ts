/**
 * @tongxiang/soap-handler — a GraphQL Mesh handler for SOAP 1.1/1.2 WebServices described by a
 * WSDL 1.1 (document/literal), with SOAPAction and WS-Security UsernameToken towards the upstream.
 * The GraphQL schema is derived from the WSDL; a new upstream is configuration, not code.
 */
import type { GetMeshSourcePayload, MeshHandler, MeshHandlerOptions, MeshSource } from '@graphql-mesh/types';
import { TongxiangError } from '../../core/index.ts';
import { createSoapInvoker, loadSoapClient } from './call.ts';
import { validateSoapConfig, type ResolvedSoapConfig, type SoapHandlerConfig } from './config.ts';
import { sourceErrorToGraphQL } from './errors.ts';
import { readWsdlAnnotations } from './wsdl-annotations.ts';
import { readServiceModel } from './wsdl-model.ts';
import { buildSoapSchema } from './wsdl-schema.ts';

export default class SoapHandler implements MeshHandler {
  private readonly name: string;
  private readonly baseDir: string;
  private readonly config: ResolvedSoapConfig;
  private readonly logger: MeshHandlerOptions<SoapHandlerConfig>['logger'];

  constructor({ name, config, baseDir, logger }: MeshHandlerOptions<SoapHandlerConfig>) {
    this.name = name;
    this.baseDir = baseDir;
    this.logger = logger;
    this.config = validateSoapConfig(config);
  }

  /** Parses the WSDL once, creates the one soap client, and returns the derived schema. */
  async getMeshSource(_payload: GetMeshSourcePayload): Promise<MeshSource> {
    const source = this.name;
    const sourceLabel = this.config.sourceLabel ?? source;
    const client = await loadSoapClient(this.config, { baseDir: this.baseDir, source, sourceLabel });
    const annotations = await readWsdlAnnotations(client.wsdl.toXML());
    const model = readServiceModel(client.wsdl.definitions as never, annotations, { soapVersion: this.config.soapVersion, port: this.config.port });

    const unknown = this.config.mutations.filter((m) => !model.operations.some((op) => op.name === m));
    if (unknown.length > 0) {
      throw new TongxiangError('CONFIG_INVALID', { reason: `${source}: mutations lists operations the WSDL port lacks: ${unknown.join(', ')}` });
    }
    const schema = buildSoapSchema(model, {
      mutations: this.config.mutations,
      invoke: createSoapInvoker(client, model, this.config.timeoutMs),
      toGraphQLError: (error) => sourceErrorToGraphQL(error, source, sourceLabel),
      sourceName: source,
    });
    this.logger.info(`${source}: ${model.operations.length} operations from ${model.service}/${model.port} (SOAP ${model.soapVersion})`);
    return { schema };
  }
}

export { probeSoapSource } from './probe.ts';
export type { ProbeResult } from '../probe-result.ts';
export { validateSoapConfig } from './config.ts';
export type { SoapHandlerConfig, ResolvedSoapConfig } from './config.ts';
export { readWsdlAnnotations } from './wsdl-annotations.ts';
export { readServiceModel } from './wsdl-model.ts';
export type { ServiceModel, OperationModel, ObjectModel, FieldModel } from './wsdl-model.ts';
export { buildSoapSchema } from './wsdl-schema.ts';
