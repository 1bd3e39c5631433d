// The seed's SecurityConfig: what each classification level means (encryption at rest, masking, who sees it in
// clear) and which data sources and fields are at which level. It writes the security policy of
// domain/security/policy.ts (the workers' FINFLOW_SECURITY_POLICY file) and gives each reconciliation side of a
// plan its classification.
import {
  CLASSIFICATION_LEVELS,
  levelRank,
  parseSecurityPolicy,
  type ClassificationLevel,
  type ClassificationRule,
  type SecurityPolicy,
  type SecurityPolicyInput,
} from '../../domain/security/policy';
import { FinflowBuildError } from './errors';

export type { ClassificationLevel };

function checkLevel(level: string, path: string): ClassificationLevel {
  if (!(CLASSIFICATION_LEVELS as readonly string[]).includes(level))
    throw new FinflowBuildError(
      [
        {
          path,
          message: `a classification is one of ${CLASSIFICATION_LEVELS.join(', ')}, not ${JSON.stringify(level)}`,
        },
      ],
      'security config',
    );
  return level as ClassificationLevel;
}

/** The seed's SecurityConfig. */
export class SecurityConfig {
  readonly #classifications: Partial<Record<ClassificationLevel, ClassificationRule>> = {};
  readonly #sources: Record<string, ClassificationLevel> = {};
  readonly #fields: Record<string, ClassificationLevel> = {};
  #roles: string[] | undefined;
  #default: ClassificationLevel | undefined;

  /** `defineDataClassification('confidential', { encryption: true, masking: 'partial', access: ['finance_team'] })`. */
  defineDataClassification(level: ClassificationLevel, rule: ClassificationRule): this {
    this.#classifications[checkLevel(level, `security.classifications.${level}`)] = rule;
    return this;
  }

  /** `applyClassification('bank_statements', 'restricted')`, or a field: `applyClassification('bank.iban', 'restricted')`. */
  applyClassification(target: string, level: ClassificationLevel): this {
    const where = `security.${target.includes('.') ? 'fields' : 'sources'}.${target}`;
    checkLevel(level, where);
    if (target.includes('.')) this.#fields[target] = level;
    else this.#sources[target] = level;
    return this;
  }

  /** The roles access lists may name (a misspelt role is then refused instead of silently denying). */
  defineRoles(roles: string[]): this {
    this.#roles = [...roles];
    return this;
  }

  /** The level of data nothing else classifies (default internal). */
  setDefaultClassification(level: ClassificationLevel): this {
    this.#default = checkLevel(level, 'security.defaultClassification');
    return this;
  }

  /** The level of a data source: its own, else the default. */
  classificationOf(source: string): ClassificationLevel {
    return this.#sources[source] ?? this.#default ?? 'internal';
  }

  /** The policy as written (for a FINFLOW_SECURITY_POLICY file). */
  toPolicyInput(): SecurityPolicyInput {
    return {
      ...(this.#roles ? { roles: this.#roles } : {}),
      ...(Object.keys(this.#classifications).length ? { classifications: { ...this.#classifications } } : {}),
      ...(this.#default ? { defaultClassification: this.#default } : {}),
      sources: { ...this.#sources },
      fields: { ...this.#fields },
    };
  }

  /** The policy validated (throws naming each offending path). */
  toPolicy(): SecurityPolicy {
    return parseSecurityPolicy(this.toPolicyInput(), 'security config');
  }

  /** The stricter of two levels. */
  static stricter(a: ClassificationLevel, b: ClassificationLevel): ClassificationLevel {
    return levelRank(a) >= levelRank(b) ? a : b;
  }
}
