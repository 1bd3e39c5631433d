// The types every layer shares (client, workers, workflows, activities): one definition each.
export type * from './approval';
export type * from './close';
export type * from './connector';
export type * from './recon';
