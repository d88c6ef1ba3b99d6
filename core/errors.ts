/**
 * The one catalogue of error codes (错误码目录). Every error the hub shows a caller or an
 * operator has a code here, an HTTP status, and a message in Chinese and English with the same
 * `{placeholders}`. Codes are never reused for a new meaning; docs/errors.md documents each one.
 */

export interface ErrorDefinition {
  readonly status: number;
  readonly zh: string;
  readonly en: string;
}

export const ERRORS = {
  BAD_USER_INPUT: {
    status: 400,
    zh: '参数无效：{reason}',
    en: 'Invalid argument: {reason}',
  },
  INVALID_ID_NUMBER: {
    status: 400,
    zh: '公民身份号码无效（{reason}）：须为 18 位且校验码符合 GB 11643',
    en: 'Invalid citizen ID number ({reason}): must be 18 characters with a GB 11643 check digit',
  },
  INVALID_CREDIT_CODE: {
    status: 400,
    zh: '统一社会信用代码无效（{reason}）：须为 18 位且校验码符合 GB 32100',
    en: 'Invalid unified social credit code ({reason}): must be 18 characters with a GB 32100 check digit',
  },
  UNAUTHENTICATED: {
    status: 401,
    zh: '未通过身份认证（{reason}），请携带有效的令牌（Authorization: Bearer …）',
    en: 'Not authenticated ({reason}); send a valid token (Authorization: Bearer <token>)',
  },
  FORBIDDEN_ACTION: {
    status: 403,
    zh: '无权执行此操作：{reason}',
    en: 'Not allowed to do this: {reason}',
  },
  FORBIDDEN_FIELD: {
    status: 403,
    zh: '无权访问字段 {coordinate}（{reason}），可在数据资源目录中向数据所有部门申请共享协议',
    en: 'No access to field {coordinate} ({reason}); apply to the owning department for a sharing contract in the catalogue',
  },
  OUT_OF_JURISDICTION: {
    status: 403,
    zh: '该记录所在地区（{regionCode}）不在共享协议的范围内',
    en: 'This record\'s region ({regionCode}) is outside the scope of the sharing contract',
  },
  CONTRACT_NOT_FOUND: {
    status: 404,
    zh: '共享协议 {contractId} 不存在',
    en: 'Sharing contract {contractId} does not exist',
  },
  CONTRACT_INVALID: {
    status: 400,
    zh: '共享协议申请无效：{reason}',
    en: 'Invalid sharing-contract request: {reason}',
  },
  CONTRACT_TRANSITION_INVALID: {
    status: 409,
    zh: '共享协议 {contractId} 当前为“{from}”，不能执行“{action}”',
    en: 'Sharing contract {contractId} is {from}; "{action}" is not possible',
  },
  CATALOGUE_INVALID: {
    status: 500,
    zh: '数据资源目录与图不一致：{reason}',
    en: 'The data catalogue does not match the graph: {reason}',
  },
  UPSTREAM_UNAVAILABLE: {
    status: 502,
    zh: '数据源“{source}”暂不可用（{reason}），其他数据照常返回',
    en: 'Source "{source}" is unavailable ({reason}); other data is returned as usual',
  },
  UPSTREAM_INVALID: {
    status: 502,
    zh: '数据源“{source}”返回了无法识别的数据（{reason}）',
    en: 'Source "{source}" answered with data that could not be understood ({reason})',
  },
  UPSTREAM_AUTH_FAILED: {
    status: 502,
    zh: '数据源“{source}”拒绝了通享平台的凭据（{reason}），请联系平台运维人员核对该数据源的接入凭据',
    en: 'Source "{source}" refused the hub\'s credentials ({reason}); ask the platform operator to check this source\'s credentials',
  },
  UPSTREAM_CIRCUIT_OPEN: {
    status: 503,
    zh: '数据源“{source}”熔断中：该数据源接连调用失败，平台暂停向其发送请求以保护该系统，约 {retryAfterS} 秒后试探恢复；其他数据照常返回',
    en: 'Source "{source}" is cut off by its circuit breaker after repeated failures; the hub sends it no calls for now to protect it and tries again in about {retryAfterS} s; other data is returned as usual',
  },
  UPSTREAM_BUSY: {
    status: 503,
    zh: '数据源“{source}”当前并发调用已满（{reason}），本字段未向其发出请求，请稍后重试；其他数据照常返回',
    en: 'Source "{source}" has too many calls in progress ({reason}); this field was not fetched, try again shortly; other data is returned as usual',
  },
  DATASET_FILE_INVALID: {
    status: 422,
    zh: '文件“{file}”无法读取（{reason}），已保留原文件，数据集仍为上一版本',
    en: 'File "{file}" could not be read ({reason}); the original is kept and the dataset stays at its previous version',
  },
  SUBSCRIPTION_NOT_FOUND: {
    status: 404,
    zh: '订阅 {subscriptionId} 不存在',
    en: 'Subscription {subscriptionId} does not exist',
  },
  SUBSCRIPTION_NOT_ENTITLED: {
    status: 403,
    zh: '无权订阅 {provider} 的数据集“{dataset}”（{reason}），需持有该部门授予、含该数据集字段且范围覆盖其地区的有效共享协议',
    en: 'Not entitled to subscribe to dataset "{dataset}" of {provider} ({reason}); an active sharing contract from that department granting fields of the dataset, with a scope covering its region, is needed',
  },
  SUBSCRIPTION_DATASET_UNKNOWN: {
    status: 404,
    zh: '没有可订阅的数据集“{dataset}”（提供方 {provider}）',
    en: 'There is no dataset "{dataset}" from {provider} to subscribe to',
  },
  WEBHOOK_URL_REFUSED: {
    status: 400,
    zh: '回调地址不可用（{reason}）：只接受 http 或 https、不含用户名和口令、主机在平台允许清单内的地址',
    en: 'Webhook URL refused ({reason}): only http or https URLs without user name or password, to a host on the platform\'s allow-list, are accepted',
  },
  DELIVERY_NOT_FOUND: {
    status: 404,
    zh: '投递记录 {deliveryId} 不存在',
    en: 'Delivery {deliveryId} does not exist',
  },
  DELIVERY_NOT_REPLAYABLE: {
    status: 409,
    zh: '投递记录 {deliveryId} 不能重放（{reason}）',
    en: 'Delivery {deliveryId} cannot be replayed ({reason})',
  },
  AUDIT_UNAVAILABLE: {
    status: 503,
    zh: '审计日志暂不可写（{reason}），为保证每次访问都有记录，本次请求未执行，请稍后重试',
    en: 'The audit log cannot take records now ({reason}); so that every access is recorded, this request was not run. Try again shortly',
  },
  AUDIT_LOG_INVALID: {
    status: 500,
    zh: '审计日志校验未通过：{reason}',
    en: 'The audit log does not verify: {reason}',
  },
  RATE_LIMITED: {
    status: 429,
    zh: '已超出限流规则 {limit}（{scope}：{quota}），请在 {retryAfterS} 秒后重试',
    en: 'Over the rate limit {limit} ({scope}: {quota}); try again in {retryAfterS} s',
  },
  RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    zh: '限流服务暂不可用（{reason}），为保护数据提供方系统，本次请求未执行，请稍后重试',
    en: 'The rate limiter is unavailable ({reason}); to protect the providers\' systems this request was not run. Try again shortly',
  },
  OPERATION_TOO_COMPLEX: {
    status: 400,
    zh: '查询过于复杂：{measure} 为 {actual}，上限为 {max}，请拆分查询或减少返回数量',
    en: 'Operation too complex: {measure} is {actual}, the maximum is {max}; split the query or ask for fewer items',
  },
  DEMO_SIGN_IN_UNAVAILABLE: {
    status: 404,
    zh: '本枢纽未开启演示登录（{reason}）',
    en: 'Demo sign-in is not available on this hub ({reason})',
  },
  CONFIG_INVALID: {
    status: 500,
    zh: '配置无效：{reason}',
    en: 'Invalid configuration: {reason}',
  },
  INTERNAL: {
    status: 500,
    zh: '平台内部错误，请将请求编号 {requestId} 提供给运维人员',
    en: 'Internal error; give request id {requestId} to the platform operator',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorFields = Record<string, string | number | boolean | undefined>;

/** Fills `{name}` placeholders; an unknown placeholder stays visible rather than vanishing. */
export function formatMessage(template: string, fields: ErrorFields): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = fields[name];
    return value === undefined ? whole : String(value);
  });
}

/** The hub's one error class: a catalogue code plus structured fields (source, coordinate, ...). */
export class TongxiangError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields: Readonly<ErrorFields>;
  readonly messageZh: string;
  readonly messageEn: string;

  constructor(code: ErrorCode, fields: ErrorFields = {}, options?: { cause?: unknown }) {
    const def: ErrorDefinition = ERRORS[code];
    const zh = formatMessage(def.zh, fields);
    const en = formatMessage(def.en, fields);
    super(`${zh} / ${en}`, options);
    this.name = 'TongxiangError';
    this.code = code;
    this.status = def.status;
    this.fields = Object.freeze({ ...fields });
    this.messageZh = zh;
    this.messageEn = en;
  }

  /** What goes into GraphQL `extensions`: code, both messages, structured fields; never the cause. */
  toExtensions(): Record<string, unknown> {
    return { code: this.code, messageZh: this.messageZh, messageEn: this.messageEn, ...this.fields };
  }
}

export function isTongxiangError(value: unknown): value is TongxiangError {
  return value instanceof TongxiangError;
}
