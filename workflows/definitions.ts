// Signals, queries and updates are defined once, here, with stable names: the CLI, approver apps, tests and the
// plain `temporal workflow signal --name approval` all refer to these names. Renaming one breaks running closes.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CloseStatus } from './types';

export interface ApprovalSignal {
  checkpointId: string;
  decision: 'approved' | 'rejected';
  approverId: string;
  role: string;
  comments?: string;
}

export const approvalSignal = defineSignal<[ApprovalSignal]>('approval');
export const statusQuery = defineQuery<CloseStatus>('status');
