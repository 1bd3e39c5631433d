// What an approval task's config becomes for the checkpoint rules: the item's submission, and the slice shape's policy.
import { legacyPolicyInput, parseApprovalPolicy, submissionOfItem } from '../../domain/approval';

describe("an approval task's item", () => {
  it('becomes the submission, with a whole-number amount read as its decimal text and no evidence as none', () => {
    expect(submissionOfItem({ preparer: 'ann', amount: 75000, currency: 'EUR', ref: 'JE-7' })).toEqual({
      preparerId: 'ann',
      amount: '75000',
      currency: 'EUR',
      itemRef: 'JE-7',
      evidence: [],
    });
    expect(
      submissionOfItem({
        preparer: 'ann',
        amount: '12.50',
        description: 'fee',
        evidence: [{ kind: 'document', ref: 'doc-1' }],
        resolution: 'explained',
      }),
    ).toEqual({
      preparerId: 'ann',
      amount: '12.50',
      description: 'fee',
      evidence: [{ kind: 'document', ref: 'doc-1' }],
      resolution: 'explained',
    });
  });

  it('keeps an amount that is no safe whole number as it came, for the submission schema to refuse', () => {
    expect(submissionOfItem({ preparer: 'ann', amount: 0.1 }).amount).toBe(0.1);
  });
});

describe('the slice shape {role, escalation}', () => {
  it('gets a policy whose approvers are the escalation ladder, each role once, with placeholder users', () => {
    const policy = parseApprovalPolicy(
      legacyPolicyInput({
        checkpointId: 'old-style',
        role: 'supervisor',
        escalation: { timeout: '4h', path: ['manager', 'supervisor', 'director'] },
      }),
    );
    expect(policy.roles.map((r) => r.name)).toEqual(['legacy-preparer', 'supervisor', 'manager', 'director']);
    expect(policy.users.map((u) => u.userId)).toEqual([
      'legacy:preparer',
      'legacy:supervisor',
      'legacy:manager',
      'legacy:director',
    ]);
    expect(policy.checkpoints[0]).toMatchObject({
      id: 'old-style',
      item_type: 'approval',
      required_roles: ['supervisor'],
      escalation: { timeout: '4h', escalation_path: ['manager', 'supervisor', 'director'] },
    });
  });

  it('is refused by the policy parser when it has no escalation to run on', () => {
    expect(() => parseApprovalPolicy(legacyPolicyInput({ checkpointId: 'bare', role: 'supervisor' }))).toThrow(
      /timeout/,
    );
    expect(() =>
      parseApprovalPolicy(
        legacyPolicyInput({ checkpointId: 'odd', role: 'supervisor', escalation: { timeout: '4h', path: 'manager' } }),
      ),
    ).toThrow(/escalation_path/);
  });
});
