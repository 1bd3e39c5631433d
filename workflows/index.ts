export { monthEndCloseWorkflow } from './month-end-close';
export { reconciliationWorkflow } from './reconciliation';
export { approvalWorkflow } from './approval/approval-workflow';
export { scheduledCloseWorkflow } from './close-schedule';
