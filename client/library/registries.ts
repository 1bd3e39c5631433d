// The seed's registries in TypeScript: systems (where data lives and how to reach it), data sources (what to read
// from a system or a file) and mappings (how one source's names become the other's). They hold definitions only;
// `FinancialWorkflow.build()` turns them into the plain close plan. A system's connection string or secret reference
// stays here, in the process that registered it: a plan and a workflow payload name the system, never its
// credentials, and the worker resolves the name from its own environment (FINFLOW_SYSTEMS).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { definitionSchemas, type Transformation } from '../../domain/recon/definition';
import type { ConnectorRegistry } from '../../platform/connectors';
import { FinflowBuildError, pathOf } from './errors';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const nameSchema = z.string().regex(NAME, 'a name is letters, digits, "_" or "-", starting with a letter or "_"');

function refuse(prefix: string, error: z.ZodError, what: string): never {
  throw new FinflowBuildError(
    error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => ({ path: pathOf(prefix, [...i.path, k]), message: 'unknown field' }))
        : [{ path: pathOf(prefix, i.path), message: i.message }],
    ),
    what,
  );
}

function checkName(kind: string, name: unknown): string {
  const r = nameSchema.safeParse(name);
  if (!r.success) refuse(kind, r.error, `${kind} name ${JSON.stringify(name)}`);
  return r.data;
}

// ---- systems ----

/**
 * Where a secret is read from, when the connection is needed (by an in-process worker, or by
 * `toWorkerEnvironment()` for a worker's deployment): an environment variable or a file. Never a value in a plan.
 */
export type SecretRef = { env: string } | { file: string };

const secretRefSchema = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'env names an environment variable') }),
  z.strictObject({ file: z.string().min(1, 'file names a file') }),
]);

/** Engines finflow reads itself, and the connector name a definition uses for each (plug-ins: ConnectorRegistry). */
export const SYSTEM_ENGINES = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mariadb',
} as const;

export interface SystemOptions {
  /** The connection URL (`postgres://…`, `mysql://…`). Kept in this process only. */
  connectionString?: string;
  /** Where the connection URL is read from instead (`{ env: 'ERP_URL' }`, `{ file: '/run/secrets/erp' }`). */
  secret?: SecretRef;
  /** A user and a password reference put into the URL when it is resolved. */
  auth?: { user: string; password: SecretRef };
}

const systemOptionsSchema = z
  .strictObject({
    connectionString: z.string().min(1, 'connectionString may not be empty').optional(),
    secret: secretRefSchema.optional(),
    auth: z.strictObject({ user: z.string().min(1), password: secretRefSchema }).optional(),
  })
  .refine((o) => !(o.connectionString && o.secret), {
    message: 'give connectionString or secret, not both',
    path: ['secret'],
  });

export interface RegisteredSystem {
  name: string;
  /** As registered (`postgres`, `mariadb`, `oracle`, ...). */
  engine: string;
  options: SystemOptions;
}

function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv, where: string): string {
  if ('env' in ref) {
    const v = env[ref.env];
    if (!v) throw new Error(`${where}: environment variable ${ref.env} is not set`);
    return v;
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (err) {
    throw new Error(`${where}: cannot read secret file ${ref.file}: ${(err as Error).message}`);
  }
}

/** The seed's SystemRegistry: `systems.register('erp', 'mariadb', { secret: { env: 'ERP_URL' } })`. */
export class SystemRegistry {
  readonly #systems = new Map<string, RegisteredSystem>();

  /**
   * Registers a system under the name data sources use. Without a connection string or secret the worker must
   * already know the system (FINFLOW_SYSTEMS or FINFLOW_SYSTEM_<NAME>_URL in its environment).
   */
  register(name: string, engine: string, options: SystemOptions = {}): this {
    checkName('systems', name);
    if (typeof engine !== 'string' || !/^[a-z][a-z0-9_]*$/.test(engine))
      throw new FinflowBuildError(
        [{ path: `systems.${name}.engine`, message: 'an engine is a lower-case name such as postgres or mariadb' }],
        `system ${name}`,
      );
    const r = systemOptionsSchema.safeParse(options);
    if (!r.success) refuse(`systems.${name}`, r.error, `system ${name}`);
    if (this.#systems.has(name))
      throw new FinflowBuildError([{ path: `systems.${name}`, message: 'registered twice' }], `system ${name}`);
    this.#systems.set(name, { name, engine, options: r.data });
    return this;
  }

  get(name: string): RegisteredSystem | undefined {
    return this.#systems.get(name);
  }

  names(): string[] {
    return [...this.#systems.keys()];
  }

  /**
   * The connector a definition names for this system's engine: finflow's own (SYSTEM_ENGINES), or the engine itself
   * when `connectors` has a plug-in for it; undefined when nothing reads it.
   */
  connectorOf(name: string, connectors?: Pick<ConnectorRegistry, 'has'>): string | undefined {
    const s = this.#systems.get(name);
    if (!s) return undefined;
    const own = (SYSTEM_ENGINES as Record<string, string>)[s.engine];
    return own ?? (connectors?.has(s.engine) ? s.engine : undefined);
  }

  /**
   * Systems whose engine has no connector (neither finflow's own nor one registered in `connectors`), as build
   * issues naming the engine and how to register one: the Engine refuses to be built with any.
   */
  unsupported(connectors?: Pick<ConnectorRegistry, 'has' | 'engines'>): { path: string; message: string }[] {
    const plugins = connectors?.engines() ?? [];
    return [...this.#systems.values()]
      .filter((s) => this.connectorOf(s.name, connectors) === undefined)
      .map((s) => ({
        path: `systems.${s.name}.engine`,
        message:
          `no connector reads engine "${s.engine}" (finflow reads ${Object.keys(SYSTEM_ENGINES).join(', ')}` +
          `${plugins.length ? `; registered: ${plugins.join(', ')}` : ''}); register one by engine name, ` +
          `new ConnectorRegistry().registerConnector('${s.engine}', factory), and give that registry to the Engine ` +
          `(new Engine({ systems, connectors })) and to the worker (startWorker({ connectors }))`,
      }));
  }

  /**
   * The worker's FINFLOW_SYSTEMS value (JSON `{ name: { engine, url } }`) for the systems that carry a connection,
   * secrets resolved from `env`. For an in-process worker or a deployment's secret store: never log it.
   */
  toWorkerEnvironment(
    env: NodeJS.ProcessEnv = process.env,
    connectors?: Pick<ConnectorRegistry, 'has' | 'engines'>,
  ): { FINFLOW_SYSTEMS: string } {
    const out: Record<string, { engine: string; url: string }> = {};
    for (const s of this.#systems.values()) {
      const { connectionString, secret, auth } = s.options;
      if (!connectionString && !secret) continue;
      const where = `system ${s.name}`;
      let url = connectionString ?? readSecret(secret!, env, where);
      if (auth) {
        const u = new URL(url);
        u.username = encodeURIComponent(auth.user);
        u.password = encodeURIComponent(readSecret(auth.password, env, where));
        url = u.toString();
      }
      const connector = this.connectorOf(s.name, connectors);
      if (!connector) throw new FinflowBuildError(this.unsupported(connectors), 'systems');
      const own =
        connector === 'postgres' ? 'postgres' : connector === 'mysql' || connector === 'mariadb' ? 'mysql' : undefined;
      out[s.name] = { engine: own ?? connector, url };
    }
    return { FINFLOW_SYSTEMS: JSON.stringify(out) };
  }
}

// ---- data sources ----

export const PARAMETER_TYPES = ['date', 'decimal', 'text', 'int'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export const FILE_CONNECTORS = ['csv', 'xlsx', 'camt053', 'camt054', 'mt940', 'mt942', 'bai2', 'statement'] as const;

const fieldList = z.array(z.string().min(1, 'a field name may not be empty')).min(1, 'name at least one field');

const dataSourceSchema = z
  .strictObject({
    /** A registered system, read with `query` (SQL with named parameters `:name`) or every row of `table`. */
    system: nameSchema.optional(),
    query: z.string().trim().min(1, 'query may not be empty').optional(),
    table: z.string().min(1).optional(),
    /**
     * Execution parameters the query binds (`:month_end_date`): names (the type is read from the value: an ISO
     * date is a date, anything else text), or `{ name: type }`. The built-ins :as_of_date, :period,
     * :period_start and :period_end need no declaration.
     */
    parameters: z.union([z.array(nameSchema), z.record(nameSchema, z.enum(PARAMETER_TYPES))]).optional(),
    /** A file instead of a system: its format and path (relative to the worker's FINFLOW_FILES_DIR). */
    connector: z.enum(FILE_CONNECTORS).optional(),
    /** May hold `{execution.parameters.<name>}`, rendered per execution. */
    path: z.string().min(1).optional(),
    /** Reader options passed to the file connector as they are (delimiter, sheet, encoding, header, ...). */
    readerOptions: z.record(z.string(), z.unknown()).optional(),
    keyFields: fieldList,
    valueFields: fieldList,
    dateField: z.string().min(1).optional(),
    currencyField: z.string().min(1).optional(),
    /** The ISO 4217 currency of records that carry none. */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR')
      .optional(),
    idField: z.string().min(1).optional(),
    /** Label of the source in record ids and reports (`GL`, `ERP`); default the side (`a`, `b`). */
    label: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
  })
  .superRefine((d, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (d.system === undefined && d.connector === undefined)
      issue('system', 'a data source names a system (with a query or table) or a file connector (with a path)');
    if (d.system !== undefined && d.connector !== undefined)
      issue('connector', 'a data source reads a system or a file, not both');
    if (d.system !== undefined && !d.query === !d.table) issue('query', 'a system source gives a query or a table');
    if (d.connector !== undefined && !d.path) issue('path', `a ${d.connector} source gives the file's path`);
    if (d.system === undefined && d.parameters !== undefined) issue('parameters', 'only a query binds parameters');
    if (!d.currencyField && !d.currency) issue('currencyField', 'give currencyField or a fixed currency');
  });

/** What `DataSourceRegistry.register` takes (camelCase of the seed's data source). */
export type DataSourceOptions = z.input<typeof dataSourceSchema>;
export type DataSource = z.output<typeof dataSourceSchema> & { name: string };

/** The seed's DataSourceRegistry: named reads of a system (or a file) with their key and value fields. */
export class DataSourceRegistry {
  readonly #sources = new Map<string, DataSource>();

  register(name: string, options: DataSourceOptions): this {
    checkName('dataSources', name);
    const r = dataSourceSchema.safeParse(options);
    if (!r.success) refuse(`dataSources.${name}`, r.error, `data source ${name}`);
    if (this.#sources.has(name))
      throw new FinflowBuildError([{ path: `dataSources.${name}`, message: 'registered twice' }], 'data sources');
    this.#sources.set(name, { ...r.data, name });
    return this;
  }

  get(name: string): DataSource | undefined {
    return this.#sources.get(name);
  }

  names(): string[] {
    return [...this.#sources.keys()];
  }
}

// ---- mappings ----

const renames = z.record(z.string().min(1), z.string().min(1, 'a source field name may not be empty'));

const mappingSchema = z.strictObject({
  /** Canonical key field -> the field as the mapped source spells it (`{ account_code: 'acct_num' }`). */
  keyMappings: renames.default({}),
  /** Canonical value field -> the mapped source's field (`{ balance: 'total' }`). */
  valueMappings: renames.default({}),
  /** Any other field (dates, currency, attributes) -> the mapped source's field. */
  fieldMappings: renames.default({}),
  /** Applied after the renames, in order, on canonical names (domain/recon/definition.ts transformations). */
  transformations: z.array(z.unknown()).default([]),
});

export type MappingOptions = z.input<typeof mappingSchema>;

export interface Mapping {
  name: string;
  /** As the definition spells them: the mapped source's name (`from`) -> canonical (`to`). */
  mappings: { from: string; to: string }[];
  transformations: Transformation[];
}

/** The seed's MappingRegistry: how the second source's names become the first's, and how values are normalised. */
export class MappingRegistry {
  readonly #mappings = new Map<string, Mapping>();

  register(name: string, options: MappingOptions): this {
    checkName('mappings', name);
    const r = mappingSchema.safeParse(options);
    if (!r.success) refuse(`mappings.${name}`, r.error, `mapping ${name}`);
    const issues: { path: string; message: string }[] = [];
    const transformations: Transformation[] = [];
    r.data.transformations.forEach((t, i) => {
      const parsed = definitionSchemas().transformationSchema.safeParse(t);
      if (parsed.success) transformations.push(t as Transformation);
      else
        for (const iss of parsed.error.issues)
          issues.push({ path: pathOf(`mappings.${name}.transformations[${i}]`, iss.path), message: iss.message });
    });
    const mappings: { from: string; to: string }[] = [];
    const seen = new Map<string, string>();
    for (const group of ['keyMappings', 'valueMappings', 'fieldMappings'] as const)
      for (const [to, from] of Object.entries(r.data[group])) {
        if (seen.has(from) && seen.get(from) !== to)
          issues.push({
            path: `mappings.${name}.${group}.${to}`,
            message: `source field ${from} is already mapped to ${seen.get(from)}`,
          });
        seen.set(from, to);
        mappings.push({ from, to });
      }
    if (issues.length) throw new FinflowBuildError(issues, `mapping ${name}`);
    if (this.#mappings.has(name))
      throw new FinflowBuildError([{ path: `mappings.${name}`, message: 'registered twice' }], 'mappings');
    this.#mappings.set(name, { name, mappings, transformations });
    return this;
  }

  get(name: string): Mapping | undefined {
    return this.#mappings.get(name);
  }

  names(): string[] {
    return [...this.#mappings.keys()];
  }
}
