// A reconciliation of the library's workflow as the close plan writes it: two registered data sources and a
// mapping become one reconciliation definition (domain/recon/definition.ts), checked when the workflow is built.
import type { ReconciliationDefinitionInput } from '../../domain/recon/definition';
import { PARAMETER_TEMPLATE } from '../recon-run';
import type { BuildIssue } from './errors';
import type { BuildContext, DataSecurityOptions, ReconciliationOptions } from './workflow-options';
import type { DataSource } from './registries';
import { SecurityConfig } from './security-config';

/** `o` without its undefined fields (a plan is plain JSON: no undefined in it). */
export const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** camelCase keys to the definition's snake_case (`compareDate` -> `compare_date`); snake_case keys stay. */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [snake(k), snakeKeys(x)]));
}

/**
 * The `kind` and `config` of a reconciliation task: its definition (domain/recon/definition.ts) written from the two
 * data sources, the mapping applied to the second, the classification each source has (raised to the workflow's
 * configureDataSecurity level), and the rules in the definition's snake_case. Problems go to `issues` with their path.
 */
export function reconciliationTask(
  o: ReconciliationOptions,
  ctx: BuildContext,
  opts: {
    security: SecurityConfig;
    dataSecurity?: DataSecurityOptions;
    dependencies?: ReconciliationOptions['predecessors'];
  },
  issues: BuildIssue[],
): { kind: 'reconciliation'; config: Record<string, unknown>; predecessors?: ReconciliationOptions['predecessors'] } {
  const { security, dataSecurity } = opts;
  const at = `${o.id}`;
  const source = (name: string, field: 'sourceA' | 'sourceB'): DataSource | undefined => {
    const s = ctx.dataSources.get(name);
    if (!s)
      issues.push({
        path: `${at}.${field}`,
        message: `unknown data source ${JSON.stringify(name)} (registered: ${ctx.dataSources.names().join(', ') || 'none'})`,
      });
    return s;
  };
  const a = source(o.sourceA, 'sourceA');
  const b = source(o.sourceB, 'sourceB');
  const mapping = o.mapping === undefined ? undefined : ctx.mappings?.get(o.mapping);
  if (o.mapping !== undefined && !mapping)
    issues.push({
      path: `${at}.mapping`,
      message: `unknown mapping ${JSON.stringify(o.mapping)} (registered: ${ctx.mappings?.names().join(', ') || 'none'})`,
    });
  const side = (s: DataSource | undefined, field: 'sourceA' | 'sourceB', renames?: typeof mapping) => {
    if (!s) return {};
    const to = new Map((renames?.mappings ?? []).map((m) => [m.from, m.to]));
    const canon = (f: string | undefined) => (f === undefined ? undefined : (to.get(f) ?? f));
    let level = security.classificationOf(s.name);
    if (dataSecurity) level = SecurityConfig.stricter(level, dataSecurity.classification);
    if (dataSecurity?.encryptionRequired) {
      const rule = security.toPolicy().classifications[level];
      if (!rule.encryption)
        issues.push({
          path: `${at}.${field}`,
          message: `data source ${s.name} is ${level}, which the security config does not encrypt, and configureDataSecurity requires encryption`,
        });
    }
    return defined({
      name: s.label,
      source: sourceRef(s, ctx, `${at}.${field}`, issues),
      classification: level,
      key_fields: s.keyFields.map((f) => canon(f)!),
      value_fields: s.valueFields.map((f) => canon(f)!),
      date_field: canon(s.dateField),
      currency_field: canon(s.currencyField),
      currency: s.currency,
      id_field: canon(s.idField),
      mappings: renames?.mappings.length ? renames.mappings : undefined,
      transformations: renames?.transformations.length ? renames.transformations : undefined,
    });
  };
  const reconId = o.reconId ?? o.id;
  const definition = defined({
    id: reconId,
    name: o.name,
    a: side(a, 'sourceA'),
    b: side(b, 'sourceB', mapping),
    rules: snakeKeys(o.matchingRules),
    currency_decimals: o.currencyDecimals,
    categorisation: o.categorisation === undefined ? undefined : snakeKeys(o.categorisation),
  }) as unknown as ReconciliationDefinitionInput;
  return {
    kind: 'reconciliation',
    config: defined({ reconId, definition, partitions: o.partitions }),
    ...(o.predecessors === undefined && opts.dependencies ? { predecessors: opts.dependencies } : {}),
  };
}

/**
 * A data source as the definition's `source`: a file connector with its path rendered from the execution
 * parameters, or a system's connector (from its engine; PostgreSQL when no SystemRegistry is given) with its SQL and
 * the declared parameters bound to the execution's values.
 */
function sourceRef(s: DataSource, ctx: BuildContext, at: string, issues: BuildIssue[]): Record<string, unknown> {
  const params = ctx.parameters ?? {};
  if (s.connector) {
    const path = s.path!.replace(PARAMETER_TEMPLATE, (whole, name: string) => {
      if (params[name] === undefined) {
        issues.push({ path: `dataSources.${s.name}.path`, message: `execution parameter ${name} is not given` });
        return whole;
      }
      return String(params[name]);
    });
    return { ...(s.readerOptions ?? {}), connector: s.connector, path };
  }
  const system = ctx.systems?.get(s.system!);
  let connector: string | undefined = 'postgres';
  if (ctx.systems) {
    if (!system)
      issues.push({
        path: `dataSources.${s.name}.system`,
        message: `unknown system ${JSON.stringify(s.system)} (registered: ${ctx.systems.names().join(', ') || 'none'})`,
      });
    else {
      connector = ctx.systems.connectorOf(s.system!, ctx.connectors);
      if (!connector)
        issues.push(...ctx.systems.unsupported(ctx.connectors).filter((u) => u.path === `systems.${s.system}.engine`));
    }
  }
  const declared = Array.isArray(s.parameters)
    ? Object.fromEntries(s.parameters.map((n) => [n, undefined]))
    : (s.parameters ?? {});
  const bound: Record<string, { type: string; value: string | number }> = {};
  for (const [name, type] of Object.entries(declared)) {
    const value = params[name];
    if (value === undefined) {
      issues.push({
        path: `dataSources.${s.name}.parameters.${name}`,
        message: `execution parameter ${name} is not given (used by ${at})`,
      });
      continue;
    }
    bound[name] = { type: type ?? (/^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? 'date' : 'text'), value };
  }
  return defined({
    connector: connector ?? s.system,
    system: s.system,
    sql: s.query,
    table: s.table,
    params: Object.keys(bound).length ? bound : undefined,
  });
}
