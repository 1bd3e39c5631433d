// The shapes of workflow inputs, results and query answers live in contracts/, where every layer reads them; this
// module keeps the workflows' own imports short.
export type * from '../contracts';
