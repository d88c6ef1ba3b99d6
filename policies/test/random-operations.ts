/**
 * Random operations over any schema, for property tests: aliases, named and inline fragments
 * (also on interfaces and unions), nesting, @skip/@include with literals, variables and variable
 * defaults. Choices come from a tape of integers so fast-check can shrink them; the operation is
 * meant to be valid (tests check with `validate` and discard the rare invalid one).
 */
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

export interface RandomOperation {
  readonly source: string;
  readonly variables: Record<string, unknown>;
}

export function randomOperation(schema: GraphQLSchema, tape: readonly number[], maxDepth = 4, budget = 40): RandomOperation {
  return new Builder(schema, tape, budget).build(maxDepth);
}

class Builder {
  private i = 0;
  private aliases = 0;
  private readonly fragments: Array<{ name: string; on: string; body: string; done: boolean }> = [];
  private readonly variableDefs: string[] = [];
  readonly variables: Record<string, unknown> = {};

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly tape: readonly number[],
    private budget: number,
  ) {}

  private next(n: number): number {
    if (n <= 1 || this.tape.length === 0) return 0;
    return this.tape[this.i++ % this.tape.length]! % n;
  }

  build(maxDepth: number): RandomOperation {
    const root = this.schema.getQueryType()!;
    const body = this.selectionSet(root, maxDepth);
    const vars = this.variableDefs.length > 0 ? `(${this.variableDefs.join(', ')})` : '';
    const fragments = this.fragments.map((f) => `fragment ${f.name} on ${f.on} ${f.body}`).join('\n');
    return { source: `query Random${vars} ${body}\n${fragments}`, variables: this.variables };
  }

  private selectionSet(type: GraphQLCompositeType, depth: number): string {
    const count = 1 + this.next(3);
    const parts: string[] = [];
    for (let k = 0; k < count; k++) parts.push(this.selection(type, depth));
    return `{ ${parts.join(' ')} }`;
  }

  private selection(type: GraphQLCompositeType, depth: number): string {
    this.budget -= 1;
    const roomy = depth > 0 && this.budget > 0;
    const choice = roomy ? this.next(10) : 0;
    if (choice >= 8) return this.spread(type, depth) ?? this.field(type, depth);
    if (choice >= 6) return this.inline(type, depth) ?? this.field(type, depth);
    return this.field(type, depth);
  }

  private directive(): string {
    switch (this.next(8)) {
      case 0:
        return ' @skip(if: true)';
      case 1:
        return ' @include(if: false)';
      case 2:
        return ' @skip(if: false)';
      case 3: {
        const name = `v${this.variableDefs.length}`;
        this.variableDefs.push(`$${name}: Boolean!`);
        this.variables[name] = this.next(2) === 0;
        return this.next(2) === 0 ? ` @include(if: $${name})` : ` @skip(if: $${name})`;
      }
      case 4: {
        const name = `v${this.variableDefs.length}`;
        this.variableDefs.push(`$${name}: Boolean = ${this.next(2) === 0}`);
        return ` @include(if: $${name})`;
      }
      default:
        return '';
    }
  }

  private field(type: GraphQLCompositeType, depth: number): string {
    const fields = isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
    const usable = fields.filter((f) => f.args.every((a) => !isNonNullType(a.type) || argumentValue(a.type) !== null));
    const leaves = usable.filter((f) => isLeafType(getNamedType(f.type)));
    const pool = depth > 0 && this.budget > 0 ? usable : leaves;
    if (pool.length === 0) return `__typename${this.directive()}`;
    if (this.next(12) === 0) return `__typename${this.directive()}`;
    const field = pool[this.next(pool.length)]!;
    const alias = this.next(3) === 0 ? `a${this.aliases++}: ` : '';
    const sub = getNamedType(field.type);
    const selection = isCompositeType(sub) ? ` ${this.selectionSet(sub, depth - 1)}` : '';
    return `${alias}${field.name}${args(field)}${this.directive()}${selection}`;
  }

  /** A type a fragment inside `type` may be on: itself, one of its possible types, or an interface it implements. */
  private condition(type: GraphQLCompositeType): GraphQLCompositeType {
    const options: GraphQLCompositeType[] = [type];
    if (isAbstractType(type)) options.push(...this.schema.getPossibleTypes(type));
    if (isObjectType(type)) options.push(...type.getInterfaces());
    return options[this.next(options.length)]!;
  }

  private inline(type: GraphQLCompositeType, depth: number): string | null {
    const on = this.condition(type);
    const head = this.next(4) === 0 && on === type ? '...' : `... on ${on.name}`;
    return `${head}${this.directive()} ${this.selectionSet(on, depth - 1)}`;
  }

  private spread(type: GraphQLCompositeType, depth: number): string | null {
    const on = this.condition(type);
    const reusable = this.fragments.filter((f) => f.done && f.on === on.name);
    if (reusable.length > 0 && this.next(2) === 0) return `...${reusable[this.next(reusable.length)]!.name}${this.directive()}`;
    const fragment = { name: `F${this.fragments.length}`, on: on.name, body: '', done: false };
    this.fragments.push(fragment);
    fragment.body = this.selectionSet(on, depth - 1);
    fragment.done = true;
    return `...${fragment.name}${this.directive()}`;
  }
}

function argumentValue(type: GraphQLInputType): string | null {
  const named = getNamedType(type);
  if (isEnumType(named)) return named.getValues()[0]?.name ?? null;
  if (!isScalarType(named)) return null;
  switch (named.name) {
    case 'Int':
      return '1';
    case 'Float':
      return '1.5';
    case 'Boolean':
      return 'true';
    default:
      return '"341504199001011234"';
  }
}

/** Required arguments only, always the same literal: no two selections of a field conflict. */
function args(field: GraphQLField<unknown, unknown>): string {
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  return required.length > 0 ? `(${required.map((a) => `${a.name}: ${argumentValue(a.type)}`).join(', ')})` : '';
}
