// The security policy a process runs under, read from the file FINFLOW_SECURITY_POLICY names. An I/O module of its
// own so that activities (evidence, reports) and the platform (worker, codec server, CLI) read it the same way,
// without activities importing the platform.
import { parseSecurityPolicy, type SecurityPolicy } from '../../domain/security/policy';
import { readDocument } from '../document-file';

/** FINFLOW_SECURITY_POLICY (JSON or YAML), or the default policy (no field rules: logs are pattern-scrubbed only). */
export function securityPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): SecurityPolicy {
  const file = env.FINFLOW_SECURITY_POLICY?.trim();
  if (!file) return parseSecurityPolicy({});
  const raw = readDocument(file, `FINFLOW_SECURITY_POLICY ${file}`);
  return parseSecurityPolicy(raw, `security policy ${file}`);
}
