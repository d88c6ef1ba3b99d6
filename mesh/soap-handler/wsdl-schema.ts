/**
 * The GraphQL schema of one SOAP port, from its service model. Pure: the caller supplies `invoke`,
 * which performs the SOAP call; this module only shapes arguments and results.
 *
 * - one field per operation, on Query (or Mutation when listed in `mutations`), camelCase;
 * - arguments are the request element's children, non-null when minOccurs ≠ 0;
 * - a response wrapping one complex-typed child returns that child (a list when maxOccurs > 1);
 *   any other response returns an object type named after the response element or its type;
 * - result fields are nullable, so a field withheld by policy can be nulled at its own path;
 * - xsd:documentation becomes the description.
 */
import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLScalarType,
} from 'graphql';
import { timedSourceCall } from '../source-calls.ts';
import { coerceField, coerceObject, toSoapArgs } from './coerce.ts';
import { camelCase, type FieldModel, type OperationModel, type ServiceModel, type TypeModel } from './wsdl-model.ts';

export interface SchemaOptions {
  /** Operation names (as in the WSDL) exposed on Mutation instead of Query. */
  readonly mutations?: readonly string[];
  /** Performs the SOAP call; resolves to the response element as the soap package parsed it. `signal` aborts it (the call's deadline). */
  readonly invoke: (operation: OperationModel, args: Record<string, unknown>, signal?: AbortSignal) => Promise<unknown>;
  /** Turns any failure of a resolver into the error the graph shows. */
  readonly toGraphQLError: (error: unknown) => Error;
  /** The Mesh source's name, to note each call in the request's context (mesh/source-calls.ts). */
  readonly sourceName?: string;
}

const SCALARS: Record<string, GraphQLScalarType> = {
  String: GraphQLString,
  Int: GraphQLInt,
  Float: GraphQLFloat,
  Boolean: GraphQLBoolean,
};

export function buildSoapSchema(model: ServiceModel, options: SchemaOptions): GraphQLSchema {
  const mutations = new Set(options.mutations ?? []);
  const outputTypes = new Map<string, GraphQLObjectType>();
  const inputTypes = new Map<string, GraphQLInputObjectType>();

  const outputObject = (name: string): GraphQLObjectType => {
    const existing = outputTypes.get(name);
    if (existing) return existing;
    const object = model.objects.get(name)!;
    const type: GraphQLObjectType = new GraphQLObjectType({
      name,
      description: object.description,
      fields: () => {
        const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
        for (const f of object.fields) fields[f.name] = { type: outputFieldType(f), description: f.description };
        return fields;
      },
    });
    outputTypes.set(name, type);
    return type;
  };

  const inputObject = (name: string): GraphQLInputObjectType => {
    const existing = inputTypes.get(name);
    if (existing) return existing;
    const object = model.objects.get(name)!;
    const type: GraphQLInputObjectType = new GraphQLInputObjectType({
      name: `${name}Input`,
      description: object.description,
      fields: () => Object.fromEntries(object.fields.map((f) => [f.name, { type: inputFieldType(f), description: f.description }])),
    });
    inputTypes.set(name, type);
    return type;
  };

  const namedOutput = (t: TypeModel): GraphQLOutputType => (t.kind === 'scalar' ? SCALARS[t.scalar]! : outputObject(t.name));
  const namedInput = (t: TypeModel): GraphQLInputType => (t.kind === 'scalar' ? SCALARS[t.scalar]! : inputObject(t.name));

  function outputFieldType(f: FieldModel): GraphQLOutputType {
    const named = namedOutput(f.type);
    return f.list ? new GraphQLList(named) : named;
  }

  function inputFieldType(f: FieldModel): GraphQLInputType {
    const named = namedInput(f.type);
    const inner = f.list ? new GraphQLList(new GraphQLNonNull(named)) : named;
    return f.required ? new GraphQLNonNull(inner) : inner;
  }

  function operationField(op: OperationModel) {
    const args: GraphQLFieldConfigArgumentMap = {};
    for (const a of op.args) args[a.name] = { type: inputFieldType(a), description: a.description };
    const output = op.output;
    const type: GraphQLOutputType =
      output.kind === 'unwrap' ? outputFieldType(output.field) : output.kind === 'wrapper' ? outputObject(output.type) : GraphQLBoolean;
    return {
      type,
      args,
      description: op.description,
      resolve: async (_root: unknown, given: Record<string, unknown>, context: unknown) => {
        let args: Record<string, unknown>;
        try {
          args = toSoapArgs(op.args, given, model.objects);
        } catch (error) {
          throw options.toGraphQLError(error); // the hub's own request could not be built: no call made
        }
        // One attempt: the SOAP call and the shaping of its answer, so a malformed answer counts
        // as the upstream's failure (for the audit note and the source's circuit breaker).
        const call = async (signal?: AbortSignal) => {
          try {
            const result = await options.invoke(op, args, signal);
            if (output.kind === 'none') return true;
            const wrapper = result && typeof result === 'object' ? (result as Record<string, unknown>) : {};
            if (output.kind === 'unwrap') return coerceField(output.field, wrapper[output.field.xmlName], model.objects, output.field.xmlName);
            return coerceObject(output.type, wrapper, model.objects, op.outputElement ?? op.name);
          } catch (error) {
            throw options.toGraphQLError(error);
          }
        };
        if (!options.sourceName) return call();
        // Query operations are reads and may be retried; operations on Mutation never are.
        return timedSourceCall(context, options.sourceName, call, { idempotent: !mutations.has(op.name) });
      },
    };
  }

  const queryFields: GraphQLFieldConfigMap<unknown, unknown> = {};
  const mutationFields: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const op of model.operations) {
    (mutations.has(op.name) ? mutationFields : queryFields)[camelCase(op.name)] = operationField(op);
  }
  if (Object.keys(queryFields).length === 0) {
    queryFields._soapPortReady = { type: GraphQLBoolean, description: 'Always true: every operation of this port is a mutation.', resolve: () => true };
  }
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: queryFields }),
    mutation: Object.keys(mutationFields).length > 0 ? new GraphQLObjectType({ name: 'Mutation', fields: mutationFields }) : undefined,
  });
}
