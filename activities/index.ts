import { reconcileTablesWith } from './reconcile-tables';
import type { SystemRegistry } from './systems';

export interface ActivityDeps {
  systems: SystemRegistry;
}

/** Activities are built from their dependencies, so tests hand in real or fake ones through the same door. */
export function createActivities(deps: ActivityDeps) {
  return {
    reconcileTables: (input: Parameters<typeof reconcileTablesWith>[1]) => reconcileTablesWith(deps.systems, input),
  };
}
