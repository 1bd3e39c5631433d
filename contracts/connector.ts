// The one interface every source connector implements (issue 16, "Connectors as plug-ins"): the built-in ones
// (PostgreSQL, MariaDB/MySQL, CSV, XLSX, camt.053/054, MT940/942, BAI2; activities/connectors/builtin.ts) and any a
// worker is given by engine name (`connectors.registerConnector('jsonl', factory)`, platform/connectors.ts). Types
// only: the activities that open sources, the worker that holds the registry and the library that checks a
// system's engine all name these shapes, and none of them imports the others.

/** A named parameter's type and value, as a definition declares it. Decimals are strings: money is never a float. */
export interface ConnectorParam {
  type: 'date' | 'decimal' | 'text' | 'int';
  value: string | number;
}

/**
 * What a connector reads from: its engine and, for a system (a database, a service), the system's name and the
 * connection URL the worker's environment gives for it (FINFLOW_SYSTEMS). A file connector has no system.
 * The URL may hold a password: a connector never puts it into an error message or a row.
 */
export interface ConnectorTarget {
  /** The engine name the connector was registered under (`postgres`, `csv`, `jsonl`, ...). */
  engine: string;
  /** The system's name (a definition's `source.system`); absent for a file. */
  system?: string;
  /** The system's connection URL as the worker knows it; absent for a file or when the worker has none. */
  url?: string;
}

/**
 * One read: a query (the engine's own language) with named parameters, a whole table, or a file, plus the
 * definition's other options for this engine as written (delimiter, sheet, mode, ...).
 */
export interface ConnectorRequest {
  /**
   * Names the source in every error and record id: `<engine>:<system>` for a system, the file's base name for a
   * file. A connector's errors use it as their `source`.
   */
  source: string;
  /** The query text with named parameters (`... WHERE posted_on <= :as_of_date`). */
  query?: string;
  /** Every row of this table (`schema.table`), when no query is given. */
  table?: string;
  /** A file's path, already rendered for the run ({period} ...) and resolved against the worker's files directory. */
  path?: string;
  /**
   * The values of the named parameters: those the definition declares, plus the built-ins the query uses
   * (:as_of_date, :period, :period_start, :period_end).
   */
  params: Readonly<Record<string, ConnectorParam>>;
  /** The source's other fields as the definition writes them, for the connector to read or refuse. */
  options: Readonly<Record<string, unknown>>;
  /** The largest batch the reader should yield (rows); smaller batches are fine. */
  batchSize: number;
}

/**
 * One row: its 1-based line (a file) or row number (a query) in the source, the record's id unless the side names
 * an id field, and its fields. Values are typed for exactness: an amount or a date is its exact text (`"1234.50"`,
 * `"2026-10-31"`), NULL is null; a JS number is accepted only where it is exact (an integer count), never for money.
 */
export interface ConnectorRow {
  line: number;
  values: Readonly<Record<string, string | number | bigint | boolean | null>>;
}

/**
 * Where bad input is, as precisely as the source allows: the source's name, and a line (text files), a row
 * (sheets, query results) and the field (column, tag, element path). A connector reports bad data by throwing
 * activities/connectors/source-error.ts's SourceDataError with this location (exported by the library as
 * `SourceDataError`): the reconciliation then fails without retry, naming source, line and field. Any other error
 * is retried by the activity's retry policy (a server that is down, a timeout).
 */
export interface ConnectorErrorLocation {
  source: string;
  line?: number;
  row?: number;
  field?: string;
}

/** A source reader: `open` starts the read and streams its rows in batches, in source order. */
export interface Connector {
  /**
   * Opens the request and yields its rows in batches of at most `request.batchSize`. Refuse a request the engine
   * cannot run (an unknown table, an unsupported option) by throwing an Error that says which; bad data with
   * SourceDataError (see ConnectorErrorLocation). The reader is abandoned (`return()`) when the reconciliation stops
   * early: release connections in a `finally`.
   */
  open(request: ConnectorRequest): AsyncIterable<ConnectorRow[]>;
}

/**
 * Makes the connector for one target (one system, or a file engine). Called for every read, so a factory that
 * holds connections keeps them per `target.url` itself.
 */
export type ConnectorFactory = (target: ConnectorTarget) => Connector;

/** What the activities need of a registry: the factory registered for an engine, if any. */
export interface ConnectorLookup {
  get(engine: string): ConnectorFactory | undefined;
}
