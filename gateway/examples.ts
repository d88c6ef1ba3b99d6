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
    insurance { insuranceType scheme status employerCreditCode }
    enterprisesAsLegalRepresentative { creditCode name status registeredCapital }
  }
}`,
      variables: { idNumber: ids.applicant },
    },
    {
      title: '企业登记信息（法定代表人身份号码按协议脱敏）/ An enterprise, the representative\'s ID number masked as the contract grants',
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
      variables: { creditCode: ids.enterprise },
    },
  ];
}
