export { monthEndCloseWorkflow } from './month-end-close';
export { reconciliationWorkflow } from './reconciliation';
