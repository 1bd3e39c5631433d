// finflow as a library: `import * as finflow from 'finflow'`. The seed's registries, configs and workflow builder
// produce the same plain close plan the YAML files hold; the Engine starts it on Temporal and follows it.
export { FinflowBuildError, type BuildIssue } from './errors';
export {
  SystemRegistry,
  DataSourceRegistry,
  MappingRegistry,
  SYSTEM_ENGINES,
  type SecretRef,
  type SystemOptions,
  type DataSourceOptions,
  type MappingOptions,
} from './registries';
export {
  ApprovalConfig,
  type RoleOptions,
  type UserOptions,
  type CheckpointOptions,
  type EscalationOptions,
  type DelegationOptions,
} from './approval-config';
export { SecurityConfig, type ClassificationLevel } from './security-config';
export {
  FinancialWorkflow,
  periodOf,
  type TaskOptions,
  type ReconciliationOptions,
  type ApprovalCheckpointOptions,
  type ComplianceDocumentationOptions,
  type CloseIntegrationOptions,
  type DataSecurityOptions,
  type BuildContext,
  type MatchingRule,
} from './financial-workflow';
export {
  Engine,
  Execution,
  type EngineOptions,
  type LocalEngineOptions,
  type ApprovalSubmission,
  type WaitOptions,
} from './engine';
export type { ExecutionResults, ReconciliationResult } from './results';
export {
  ConnectorRegistry,
  BUILTIN_ENGINES,
  type Connector,
  type ConnectorErrorLocation,
  type ConnectorFactory,
  type ConnectorParam,
  type ConnectorRequest,
  type ConnectorRow,
  type ConnectorTarget,
} from '../../platform/connectors';
export { SourceDataError, type SourceLocation } from '../../activities/connectors/source-error';
