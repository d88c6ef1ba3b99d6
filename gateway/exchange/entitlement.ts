/**
 * Who may hear of a department's new dataset versions (订阅资格). Pure: the grants, the dataset's
 * graph type and the departments are arguments; the answer is a value, never a throw.
 *
 * A change event carries counts only (added / changed / removed keys, rows), never a field value,
 * so no grant can be exceeded by an event's content: what the rule guards is knowing that the
 * provider's data moved at all. It follows the same three questions the field enforcement asks
 * of a row:
 *   - whose data: the grant's provider is the department that published the version;
 *   - which data: the grant names a field of the type that serves the dataset's rows
 *     (`AllowanceHousehold.headIdNumber` for the 低保 roster);
 *   - which rows: the grant's row scope covers the publishing department's region (the rows of a
 *     county's roster lie in that county).
 * The publishing department itself is always entitled: its own data.
 */
import type { ActiveGrant, RowScope } from '../../contracts/index.ts';
import { isWithinRegion, parseDepartment } from '../../core/index.ts';

export interface DatasetOwner {
  readonly dataset: string;
  /** The publishing (providing) department, e.g. 341623.mzj. */
  readonly department: string;
}

export type Entitlement =
  | { readonly ok: true; readonly contractIds: string[] }
  | { readonly ok: false; readonly reason: string };

/** Whether `scope` (held by `consumerRegion`) covers rows lying in `rowRegion`. */
export function scopeCovers(scope: RowScope, consumerRegion: string, rowRegion: string): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'regions':
      return scope.regionCodes.some((code) => isWithinRegion(rowRegion, code));
    case 'jurisdiction':
      return isWithinRegion(rowRegion, consumerRegion);
  }
}

/**
 * `ok` with the contracts that entitle (sorted, no duplicates; empty for the department's own
 * data), or the reason in words (Chinese / English) for the first thing missing.
 */
export function entitled(
  consumerDepartment: string,
  ref: DatasetOwner,
  graphqlType: string | undefined,
  grants: readonly ActiveGrant[],
): Entitlement {
  if (consumerDepartment === ref.department) return { ok: true, contractIds: [] };
  const consumer = parseDepartment(consumerDepartment);
  const provider = parseDepartment(ref.department);
  if (!consumer) return { ok: false, reason: `${consumerDepartment} 不是部门代码 / not a department code` };
  if (!provider) return { ok: false, reason: `${ref.department} 不是部门代码 / not a department code` };
  if (!graphqlType) {
    // Nothing in the graph serves these rows, so no contract can name them: the owner's only.
    return { ok: false, reason: '该数据集未对应图中的类型，仅提供方本部门可订阅 / the dataset serves no graph type; only its own department may subscribe' };
  }
  const fromProvider = grants.filter((g) => g.provider === ref.department);
  if (fromProvider.length === 0) {
    return { ok: false, reason: `没有 ${ref.department} 授予的有效协议 / no active contract from ${ref.department}` };
  }
  const onType = fromProvider.filter((g) => g.coordinate.slice(0, g.coordinate.indexOf('.')) === graphqlType);
  if (onType.length === 0) {
    return { ok: false, reason: `有效协议未授予 ${graphqlType} 的任何字段 / no active contract grants a field of ${graphqlType}` };
  }
  const covering = onType.filter((g) => scopeCovers(g.scope, consumer.regionCode, provider.regionCode));
  if (covering.length === 0) {
    return {
      ok: false,
      reason: `协议范围不含提供方地区 ${provider.regionCode} / no contract's row scope covers the provider's region ${provider.regionCode}`,
    };
  }
  return { ok: true, contractIds: [...new Set(covering.map((g) => g.contractId))].sort() };
}
