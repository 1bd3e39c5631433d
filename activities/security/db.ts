// The slice of node-postgres the security stores use: a pg Pool (preferred: VACUUM and concurrent callers) or a
// single Client both fit.
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}
