/**
 * Records of the three demo upstreams. Synthetic but valid: every 公民身份号码 carries a GB 11643
 * check digit, every 统一社会信用代码 a GB 32100 one, every region code is real GB/T 2260.
 * The upstream servers own these shapes; the graph sees them only through SOAP, REST and files.
 */

/** A resident. Not served by any one source: the graph's Person is keyed by idNumber. */
export interface DemoPerson {
  idNumber: string;
  name: string;
  gender: '男' | '女';
  birthDate: string; // YYYY-MM-DD, equal to characters 7-14 of idNumber
  regionCode: string; // county-level GB/T 2260 code, equal to characters 1-6 of idNumber
  township: string;
  village: string;
  phone: string;
}

/** 安徽省市场监督管理局 法人库 entry (SOAP). */
export interface DemoEnterprise {
  creditCode: string;
  name: string;
  type: string; // e.g. 有限责任公司（自然人投资或控股）, 个体工商户 is not in the legal-entity registry
  legalRepresentativeName: string;
  legalRepresentativeIdNumber: string;
  registeredCapital: number; // 万元 (10,000 CNY)
  establishedDate: string; // YYYY-MM-DD
  businessScope: string;
  address: string;
  regionCode: string;
  status: '存续' | '在业' | '注销' | '吊销' | '迁出';
}

/** 六安市人社局: one insurance enrolment of a person (REST). */
export interface DemoInsuranceRecord {
  idNumber: string;
  insuranceType: 'PENSION' | 'MEDICAL' | 'UNEMPLOYMENT' | 'WORK_INJURY' | 'MATERNITY';
  scheme: 'EMPLOYEE' | 'RESIDENT'; // 城镇职工 / 城乡居民
  status: 'ACTIVE' | 'SUSPENDED' | 'TERMINATED'; // 正常参保 / 暂停缴费 / 终止参保
  contributionBase: number; // 缴费基数, CNY per month (0 for resident schemes)
  employerCreditCode: string | null;
  startDate: string;
  endDate: string | null;
}

/** 六安市人社局: one employment spell (REST). */
export interface DemoEmployment {
  idNumber: string;
  employerCreditCode: string;
  employerName: string;
  startDate: string;
  endDate: string | null;
}

/** 民政局 低保 roster line: one household in one month (file drop). */
export interface DemoAllowanceHousehold {
  householdId: string; // e.g. 341504-2026-000123
  headName: string;
  headIdNumber: string;
  members: number;
  monthlyAmount: number; // CNY
  township: string;
  village: string;
  approvalDate: string;
  regionCode: string; // county code of the dropping department
  month: string; // YYYY-MM the roster is for
}

export interface DemoData {
  seed: number;
  persons: DemoPerson[];
  enterprises: DemoEnterprise[];
  insurance: DemoInsuranceRecord[];
  employment: DemoEmployment[];
  allowances: DemoAllowanceHousehold[];
  /** The few people the README's examples use, by role. */
  named: Record<NamedRole, string>; // role -> idNumber
}

export type NamedRole =
  | 'applicantClean' // 低保 applicant with no insurance income and no enterprise: eligible
  | 'applicantWithJob' // 低保 recipient who has employee pension insurance: flagged
  | 'applicantWithEnterprise' // 低保 recipient who is a legal representative: flagged
  | 'legalRepresentative'; // runs an enterprise with insured employees
