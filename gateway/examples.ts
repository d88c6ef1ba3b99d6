/**
 * The example queries the README, the start-up banner and the landing page show. The flagship is
 * 低保资格核查: one query asking whether an applicant has social-insurance income or runs an
 * enterprise, across the provincial SOAP registry, the city REST bureau and the county rosters.
 */
export interface ExampleQuery {
  readonly title: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export function exampleQueries(ids: { applicant: string; enterprise: string }): ExampleQuery[] {
  return [
    {
      title: '低保资格核查 / Minimum-living-allowance eligibility check (3 sources)',
      query: `query EligibilityCheck($idNumber: String!) {
  person(idNumber: $idNumber) {
    idNumber
    name
    regionCode
    allowances { month monthlyAmount members township village }
    insurance { insuranceType scheme status contributionBase employerCreditCode }
    employment { employerName startDate endDate }
    enterprisesAsLegalRepresentative { creditCode name status registeredCapital }
  }
}`,
      variables: { idNumber: ids.applicant },
    },
    {
      title: '企业及其法定代表人、参保人数 / An enterprise, its legal representative and insured head-count',
      query: `query Enterprise($creditCode: String!) {
  enterprise(creditCode: $creditCode) {
    creditCode
    name
    status
    regionCode
    legalRepresentative { idNumber name insurance { insuranceType status } }
    insuredEmployees { insuredCount asOf }
  }
}`,
      variables: { creditCode: ids.enterprise },
    },
  ];
}
