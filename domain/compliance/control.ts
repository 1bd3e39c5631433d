// A compliance control as the seed's add_compliance_documentation states it: the regulation, the control id,
// what the control does, which evidence proves it ran, and the attestation someone must sign. Pure (imported by
// workflow code through the close definition).
import { z } from 'zod';

/** Evidence the engine itself produces; a control may also name other kinds, supplied as attachments. */
export const BUILT_IN_EVIDENCE = [
  'reconciliation_summary',
  'exception_report',
  'exception_handling',
  'approval_evidence',
  'workflow_history',
] as const;
export type BuiltInEvidence = (typeof BUILT_IN_EVIDENCE)[number];

const evidenceKind = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'an evidence kind is lower-case letters, digits and "_", e.g. reconciliation_summary');
const roleName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a role is letters, digits, ".", "_" or "-"');

export const ControlDefinitionSchema = z
  .object({
    /** e.g. SOX. */
    regulation: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'a regulation is a short name such as SOX'),
    /** e.g. F-R3-GL-15; part of the package's file name, hence the narrow alphabet. */
    controlId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a control id is letters, digits, ".", "_" or "-"'),
    description: z.string().trim().min(1, 'a control needs a description'),
    evidence: z
      .array(evidenceKind)
      .min(1, 'a control names at least one kind of evidence')
      .refine((l) => new Set(l).size === l.length, 'an evidence kind is listed twice'),
    attestationText: z.string().trim().min(1, 'a control needs its attestation text'),
    /** Role(s) whose attestation is required; the seed allows one or several. */
    attestationRequiredFrom: z
      .union([roleName, z.array(roleName).min(1)])
      .transform((r) => (typeof r === 'string' ? [r] : r)),
    /**
     * Unexplained exceptions whose absolute amount is above this keep the control from holding. Absent: 0, every
     * unexplained non-zero exception counts (the seed's control asks that every exception be explained).
     */
    materiality: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'a materiality is an amount of 0 or more written as a string, e.g. "500.00"')
      .optional(),
  })
  .strict();
export type ControlDefinition = z.output<typeof ControlDefinitionSchema>;
export type ControlDefinitionInput = z.input<typeof ControlDefinitionSchema>;

/** Parses a control definition; the error names each bad field. */
export function parseControlDefinition(input: unknown, where = 'control'): ControlDefinition {
  const r = ControlDefinitionSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
