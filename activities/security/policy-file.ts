// The security policy a process runs under, read from the file FINFLOW_SECURITY_POLICY names. An I/O module of its
// own so that activities (evidence, reports) and the platform (worker, codec server, CLI) read it the same way,
// without activities importing the platform.
import { normaliseSecurityPolicyKeys, parseSecurityPolicy, type SecurityPolicy } from '../../domain/security/policy';
import { readCasedDocument } from '../document-file';

/** FINFLOW_SECURITY_POLICY (JSON or YAML), or the default policy (no field rules: logs are pattern-scrubbed only). */
export function securityPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): SecurityPolicy {
  const file = env.FINFLOW_SECURITY_POLICY?.trim();
  if (!file) return parseSecurityPolicy({});
  const raw = readCasedDocument(file, normaliseSecurityPolicyKeys, { where: `FINFLOW_SECURITY_POLICY ${file}` });
  return parseSecurityPolicy(raw, `security policy ${file}`);
}
