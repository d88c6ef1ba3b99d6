/**
 * How the demo upstreams (法人库 over SOAP, 人社 over REST) word a key that fails its check: the
 * catalogue's Chinese sentence with the check's reason in Chinese. Never echoes the input.
 */
import { ERRORS, formatMessage } from '../core/index.ts';

/** `validateIdNumber` / `validateCreditCode` reasons, in Chinese. */
const CHECK_REASONS_ZH: Readonly<Record<string, string>> = Object.freeze({
  length: '长度不是 18 位',
  characters: '含有不允许的字符',
  'region code': '行政区划码段无效',
  'birth date': '出生日期码段无效',
  'check digit': '校验码错误',
});

/** The Chinese reason for a failed check; an unknown reason is kept as it is. */
export function checkReasonZh(reason: string): string {
  return CHECK_REASONS_ZH[reason] ?? reason;
}

/** E.g. `公民身份号码无效（校验码错误）：须为 18 位且校验码符合 GB 11643`. */
export function invalidKeyMessageZh(code: 'INVALID_ID_NUMBER' | 'INVALID_CREDIT_CODE', reason: string): string {
  return formatMessage(ERRORS[code].zh, { reason: checkReasonZh(reason) });
}
