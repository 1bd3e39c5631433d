// Connectors by engine name (issue 16): the registry a worker is given (`startWorker({ connectors })`) and the
// library's Engine checks systems against (`new Engine({ systems, connectors })`). finflow's own connectors
// (PostgreSQL, MariaDB/MySQL, CSV, XLSX, camt.053/054, MT940/942, BAI2) are always there; anything else is
// registered: `new ConnectorRegistry().registerConnector('jsonl', factory)`. The interface a connector implements
// is contracts/connector.ts.
import type { ConnectorFactory, ConnectorLookup } from '../contracts/connector';
import { BUILTIN_FILE_ENGINES, BUILTIN_SYSTEM_ENGINES, RESERVED_ENGINES } from '../activities/connectors/builtin';

export type {
  Connector,
  ConnectorErrorLocation,
  ConnectorFactory,
  ConnectorLookup,
  ConnectorParam,
  ConnectorRequest,
  ConnectorRow,
  ConnectorTarget,
} from '../contracts/connector';

/** Engines finflow reads without a plug-in: systems (`postgres`, `mysql`, alias `mariadb`) and file formats. */
export const BUILTIN_ENGINES: readonly string[] = [...BUILTIN_SYSTEM_ENGINES, 'mariadb', ...BUILTIN_FILE_ENGINES];

const ENGINE_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Plug-in connectors by engine name. Register every connector before the worker starts and before the Engine is
 * built: a system whose engine has none is refused there, naming the engine.
 */
export class ConnectorRegistry implements ConnectorLookup {
  readonly #factories = new Map<string, ConnectorFactory>();

  /**
   * Registers the connector of an engine (`registerConnector('jsonl', (target) => ({ open(request) { ... } }))`).
   * The engine name is what a system is registered with (`systems.register('ledger', 'jsonl', ...)`) and what a
   * definition's `source.connector` names. Refused: a name that is not lower-case letters, digits and "_", one of
   * finflow's own engines (they cannot be replaced), an engine registered twice, a factory that is not a function.
   */
  registerConnector(engine: string, factory: ConnectorFactory): this {
    if (typeof engine !== 'string' || !ENGINE_NAME.test(engine))
      throw new Error(
        `connector engine ${JSON.stringify(engine)}: an engine name is lower-case letters, digits and "_"`,
      );
    if (RESERVED_ENGINES.includes(engine))
      throw new Error(
        `connector engine ${engine}: finflow reads ${engine} itself; register a connector under another name`,
      );
    if (this.#factories.has(engine)) throw new Error(`connector engine ${engine}: registered twice`);
    if (typeof factory !== 'function')
      throw new Error(`connector engine ${engine}: the factory must be a function (target) => Connector`);
    this.#factories.set(engine, factory);
    return this;
  }

  /** The factory registered for an engine (undefined for finflow's own engines and for unknown ones). */
  get(engine: string): ConnectorFactory | undefined {
    return this.#factories.get(engine);
  }

  /** Whether a source of this engine can be read: finflow's own engines, and those registered here. */
  has(engine: string): boolean {
    return BUILTIN_ENGINES.includes(engine) || this.#factories.has(engine);
  }

  /** The engines registered here (not finflow's own), in registration order. */
  engines(): string[] {
    return [...this.#factories.keys()];
  }
}
