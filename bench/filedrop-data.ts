/**
 * Synthetic 低保 rosters for the file-drop benchmark, written the way the two demo counties export
 * them (sources/filedrop/demo-drops.ts): 叶集区 as UTF-8 CSV with a BOM and ISO dates, 利辛县 as
 * GB18030 CSV with CRLF, other header aliases and dates written 2026年9月15日, and an XLSX with a
 * title row and date cells. Every 公民身份号码 carries its real GB 11643 check digit, every region
 * code is the county's own, so every row maps (none is rejected). Seeded: the same files each run.
 *
 * Files are written streaming, a megabyte of text at a time, so a 1 GB roster never exists as
 * one string.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { idNumberCheckDigit } from '../core/index.ts';
import { createRandom, type Random } from '../sources/demo-data/random.ts';
import { COUNTIES, GIVEN_FEMALE, GIVEN_MALE, SURNAMES, VILLAGE_FIRST, VILLAGE_SECOND } from '../sources/demo-data/vocabulary.ts';

export type RosterStyle = 'yeji-utf8' | 'lixin-gb18030';

export interface Roster {
  readonly style: RosterStyle;
  readonly region: string;
  readonly headers: readonly string[];
  /** The data line of household `i` (0-based), without its line end; call with 0, 1, 2, … in turn. */
  line(i: number): string;
}

const townshipsOf = (region: string): readonly string[] => COUNTIES.find((c) => c.code === region)?.townships ?? ['城关镇'];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

interface Household {
  householdId: string;
  headName: string;
  headIdNumber: string;
  members: number;
  amount: string;
  township: string;
  village: string;
  approval: [number, number, number];
  month: string;
}

/** Household `i` of `region`, drawn from `r` (households drawn in order give the same roster every time). */
function household(region: string, i: number, r: Random): Household {
  const birthDay = r.int(-14_600, 12_400); // 1930 … 2003
  const birth = new Date(birthDay * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `${region}${birth}${pad(r.int(0, 999), 3)}`;
  // Now and then a name with a character outside GBK (four bytes in GB18030) or from Extension A.
  const rare = i % 997 === 0 ? '𠮷' : i % 991 === 0 ? '䶮' : '';
  const given = r.chance(0.5) ? GIVEN_MALE : GIVEN_FEMALE;
  const members = r.int(1, 6);
  return {
    householdId: `${region}-2026-${pad(i + 1, 7)}`,
    headName: `${r.pick(SURNAMES)}${rare}${r.pick(given)}${r.chance(0.6) ? r.pick(given) : ''}`,
    headIdNumber: first17 + idNumberCheckDigit(first17),
    members,
    amount: (members * r.int(380, 620) + r.int(0, 99) / 100).toFixed(2),
    township: r.pick(townshipsOf(region)),
    village: `${r.pick(VILLAGE_FIRST)}${r.pick(VILLAGE_SECOND)}村`,
    approval: [r.int(2014, 2026), r.int(1, 9), r.int(1, 28)],
    month: '2026-10',
  };
}

const quoted = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

export function roster(style: RosterStyle, seed = 20261123): Roster {
  const random = createRandom(seed);
  if (style === 'yeji-utf8') {
    return {
      style,
      region: '341504',
      headers: ['户编号', '户主姓名', '户主身份证号', '家庭人口', '月保障金额', '乡镇（街道）', '村（社区）', '批准日期', '行政区划代码', '保障月份'],
      line(i) {
        const h = household('341504', i, random);
        const [y, m, d] = h.approval;
        return [h.householdId, h.headName, h.headIdNumber, String(h.members), h.amount, h.township, h.village, `${y}-${pad(m, 2)}-${pad(d, 2)}`, '341504', h.month]
          .map(quoted)
          .join(',');
      },
    };
  }
  return {
    style,
    region: '341623',
    headers: ['户编号', '户主姓名', '身份证号', '保障人数', '保障金额（元）', '乡镇', '村居', '审批日期', '区划代码', '保障月份'],
    line(i) {
      const h = household('341623', i, random);
      const [y, m, d] = h.approval;
      return [h.householdId, h.headName, h.headIdNumber, String(h.members), h.amount, h.township, h.village, `${y}年${m}月${d}日`, '341623', '2026年10月']
        .map(quoted)
        .join(',');
    },
  };
}

/**
 * Writes a roster CSV of `rows` data rows, or of at least `bytes` bytes, streaming. Returns the
 * data rows written and the file's size.
 */
export async function writeRosterCsv(path: string, style: RosterStyle, target: { readonly bytes?: number; readonly rows?: number }): Promise<{ rows: number; bytes: number }> {
  const r = roster(style);
  const gb = style === 'lixin-gb18030';
  const eol = gb ? '\r\n' : '\n';
  const encode = (text: string): Buffer => (gb ? iconv.encode(text, 'gb18030') : Buffer.from(text, 'utf8'));
  const out = createWriteStream(path);
  const write = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  let size = 0;
  const head = Buffer.concat([gb ? Buffer.alloc(0) : Buffer.from([0xef, 0xbb, 0xbf]), encode(`${r.headers.join(',')}${eol}`)]);
  await write(head);
  size += head.length;
  let rows = 0;
  const enough = () => (target.rows !== undefined ? rows >= target.rows : size >= (target.bytes ?? 0));
  while (!enough()) {
    // About 256 KiB of text at a time; a size target is passed by less than one such chunk.
    let text = '';
    while (text.length < 128 * 1024 && !(target.rows !== undefined && rows >= target.rows)) text += r.line(rows++) + eol;
    const chunk = encode(text);
    await write(chunk);
    size += chunk.length;
  }
  out.end();
  await once(out, 'finish');
  return { rows, bytes: size };
}

/** An XLSX roster (叶集区's habit): a title row, then the header, date cells, shared strings; streamed by exceljs. */
export async function writeRosterXlsx(path: string, rows: number): Promise<{ rows: number }> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true, useStyles: true });
  const sheet = workbook.addWorksheet('低保名册');
  sheet.addRow(['叶集区2026年10月最低生活保障家庭名册']).commit();
  sheet.addRow(['家庭编号', '姓名', '公民身份号码', '保障人数', '月低保金', '乡镇', '村居', '审批日期', '区划代码', '月份']).commit();
  const random = createRandom(20261123);
  for (let i = 0; i < rows; i++) {
    const h = household('341504', i, random);
    const [y, m, d] = h.approval;
    const row = sheet.addRow([h.householdId, h.headName, h.headIdNumber, h.members, Number(h.amount), h.township, h.village, new Date(Date.UTC(y, m - 1, d)), '341504', '2026年10月']);
    row.getCell(8).numFmt = 'yyyy"年"m"月"d"日"';
    row.getCell(5).numFmt = '0.00';
    row.commit();
  }
  sheet.commit();
  await workbook.commit();
  return { rows };
}
