/**
 * Which webhook URLs the hub will POST to (回调地址白名单). On a government extranet a webhook is
 * a request the hub makes on a consumer's behalf from inside the network, so an unchecked URL is
 * a server-side request forgery: the hub's own admin ports, another department's internal
 * systems, a cloud metadata address. The operator lists what may be called; nothing else is.
 *
 * Pure (no DNS, no I/O): an allow-list entry is either a host name — exact (`hooks.lixin.gov.cn`)
 * or every name under a domain (`*.lixin.gov.cn`) — or an IP address or CIDR (`10.20.0.0/16`,
 * `fd00::/8`). A URL whose host is an IP literal must fall in a listed address range; a URL whose
 * host is a name must be a listed name. A name is never allowed because of the address it
 * resolves to (that would let whoever controls the name's DNS choose the target, and rebind it
 * between the check and the connection). Hosts are compared after WHATWG URL parsing, which
 * lower-cases names and writes every IPv4 spelling (`0x7f.1`, `2130706433`) as dotted decimal.
 *
 * Default: loopback only (`127.0.0.1`, `::1`, `localhost`).
 */
import { BlockList, isIP } from 'node:net';
import { TongxiangError } from '../../core/index.ts';

export const DEFAULT_WEBHOOK_ALLOW: readonly string[] = Object.freeze(['127.0.0.1', '::1', 'localhost']);
export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface WebhookAllowList {
  /** The entries as configured, for messages and logs. */
  readonly entries: readonly string[];
  readonly names: ReadonlySet<string>;
  /** `.lixin.gov.cn` for `*.lixin.gov.cn`. */
  readonly suffixes: readonly string[];
  readonly networks: BlockList;
}

export type WebhookUrlCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isHostName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** `::ffff:7f00:1` → `127.0.0.1` (the same host, written as IPv6); anything else unchanged. */
function unmapIPv4(address: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!m) return address;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Validates the configured entries once; every bad entry is listed in one CONFIG_INVALID. */
export function parseWebhookAllowList(entries: readonly string[] = DEFAULT_WEBHOOK_ALLOW): WebhookAllowList {
  if (!Array.isArray(entries)) throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange webhookAllow must be a list of host names or CIDRs' });
  const names = new Set<string>();
  const suffixes: string[] = [];
  const networks = new BlockList();
  const problems: string[] = [];
  for (const raw of entries) {
    const entry = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    if (entry === '') {
      problems.push('an empty entry');
      continue;
    }
    const [address, prefixText, ...rest] = entry.split('/');
    const family = isIP(address!);
    if (family !== 0) {
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (rest.length > 0 || !/^\d+$/.test(prefixText ?? String(max)) || prefix > max) {
        problems.push(`"${raw}": not an address or CIDR`);
        continue;
      }
      networks.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6');
      continue;
    }
    if (entry.startsWith('*.') && isHostName(entry.slice(2))) {
      suffixes.push(entry.slice(1));
      continue;
    }
    if (isHostName(entry.replace(/\.$/, ''))) {
      names.add(entry.replace(/\.$/, ''));
      continue;
    }
    problems.push(`"${raw}": not a host name, *.domain, address or CIDR`);
  }
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `exchange webhookAllow: ${problems.join('; ')}` });
  return Object.freeze({ entries: Object.freeze(entries.map((e) => e.trim())), names, suffixes: Object.freeze(suffixes), networks });
}

/** Whether `url` may be POSTed to; the reason in words (Chinese / English) when not. */
export function checkWebhookUrl(raw: string, allow: WebhookAllowList): WebhookUrlCheck {
  if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: '地址为空 / empty URL' };
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, reason: `地址超过 ${MAX_WEBHOOK_URL_LENGTH} 个字符 / longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, reason: '不是有效的 URL / not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `不支持的协议 ${url.protocol} / scheme ${url.protocol} is not http or https` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: '地址不得含用户名或口令，接收方请以签名校验来源 / no user name or password in the URL; receivers verify the signature instead' };
  }
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') return { ok: false, reason: '缺少主机 / no host' };
  const literal = unmapIPv4(host);
  const family = isIP(literal);
  if (family !== 0) {
    if (allow.networks.check(literal, family === 4 ? 'ipv4' : 'ipv6')) return { ok: true, url };
    return { ok: false, reason: `地址 ${literal} 不在允许清单内 / address ${literal} is not on the allow-list` };
  }
  const name = host.replace(/\.$/, '');
  if (allow.names.has(name) || allow.suffixes.some((suffix) => name.endsWith(suffix))) return { ok: true, url };
  return { ok: false, reason: `主机 ${name} 不在允许清单内 / host ${name} is not on the allow-list` };
}

/** A URL as logs may show it: scheme, host, port and path — never the query (it may hold a secret) or userinfo. */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
