/**
 * The flagship example queries, preloaded as GraphiQL's tabs when the hub's console configuration
 * carries none (`examples` in /console/config.json wins): the eligibility check across the three
 * sources and an enterprise with its representative's ID number masked as the contract grants —
 * for the demo applicant 李国 of 叶集区 and his enterprise (README.md).
 */
export interface Example {
  readonly title: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export const FALLBACK_EXAMPLES: readonly Example[] = [
  {
    title: '低保资格核查 / Minimum-living-allowance eligibility check (3 sources)',
    query: `query EligibilityCheck($idNumber: String!) {
  person(idNumber: $idNumber) {
    idNumber
    name
    regionCode
    allowances { month monthlyAmount members township village }
    insurance { insuranceType scheme status employerCreditCode }
    enterprisesAsLegalRepresentative { creditCode name status registeredCapital }
  }
}`,
    variables: { idNumber: '341504198712193778' },
  },
  {
    title: "企业登记信息（法定代表人身份号码按协议脱敏）/ An enterprise, the representative's ID number masked as the contract grants",
    query: `query Enterprise($creditCode: String!) {
  enterprise(creditCode: $creditCode) {
    creditCode
    name
    type
    status
    registeredCapital
    legalRepresentativeName
    legalRepresentativeIdNumber
  }
}`,
    variables: { creditCode: '91341504MADC7N3D87' },
  },
];

/** An example as a GraphiQL tab: its title as a comment line above the query. */
export function asTab(example: Example): { query: string; variables: string } {
  return { query: `# ${example.title}\n${example.query}`, variables: JSON.stringify(example.variables, null, 2) };
}
