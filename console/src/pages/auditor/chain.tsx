/**
 * 审计链 / Audit chain: the writer's status (`auditStatus`), the hub's own check of the whole log
 * (`auditVerification`: hash chain and signed checkpoints), and the verifiable export
 * (GET /audit/export) with how to check it offline.
 */
import { useState, type FormEvent } from 'react';
import { authHeader, HubError, query, type HubErrorInfo } from '../../api.ts';
import { Async, Data, ErrorBox, Loading, PageHeader, useAction, useLoad } from '../../components/common.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { fromLocalInput, Time, toLocalInput, useFormat } from './format.tsx';

const AUDIT_STATUS = /* GraphQL */ `
  query ConsoleAuditStatus {
    auditStatus { instance alg mode seq head lastCheckpointSeq queued failing signingKeyId jwksPath kafka { shipped pending connected lastError } }
  }
`;

const AUDIT_VERIFICATION = /* GraphQL */ `
  query ConsoleAuditVerification {
    auditVerification { ok records checkpoints instances from to unsigned verifiedAt problem { kind instance seq message messageZh messageEn line } }
  }
`;

interface AuditStatus {
  instance: string;
  alg: string;
  mode: string;
  seq: number;
  head: string;
  lastCheckpointSeq: number | null;
  queued: number;
  failing: boolean;
  signingKeyId: string;
  jwksPath: string;
  kafka: { shipped: number; pending: number; connected: boolean; lastError: string | null } | null;
}

interface AuditVerification {
  ok: boolean;
  records: number;
  checkpoints: number;
  instances: number;
  from: string | null;
  to: string | null;
  unsigned: number;
  verifiedAt: string;
  problem: { kind: string; instance: string | null; seq: number | null; message: string; messageZh: string; messageEn: string; line: number | null } | null;
}

function StatusCard() {
  const { t, tx } = useI18n();
  const f = useFormat();
  const status = useLoad(() => query<{ auditStatus: AuditStatus }>(AUDIT_STATUS), []);
  return (
    <section className="card" aria-labelledby="chain-status">
      <div className="ao-card-head">
        <h2 id="chain-status">{t('auditor.chain.status')}</h2>
        <button type="button" className="secondary" onClick={status.reload} disabled={status.loading}>
          {t('common.refresh')}
        </button>
      </div>
      <Async state={status}>
        {({ auditStatus: s }) => (
          <div className="grid2">
            <dl className="ao-kv" data-testid="chain-status">
              <dt>{t('auditor.chain.instance')}</dt>
              <dd>
                <Data>
                  <code>{s.instance}</code>
                </Data>
              </dd>
              <dt>{t('auditor.chain.alg')}</dt>
              <dd>{tx(`auditor.chain.alg.${s.alg}`, s.alg)}</dd>
              <dt>{t('auditor.chain.mode')}</dt>
              <dd>{tx(`auditor.chain.mode.${s.mode}`, s.mode)}</dd>
              <dt>{t('auditor.chain.seq')}</dt>
              <dd>
                <Data>{s.seq}</Data>
              </dd>
              <dt>{t('auditor.chain.head')}</dt>
              <dd>
                <Data>
                  <code>{s.head}</code>
                </Data>
              </dd>
              <dt>{t('auditor.chain.lastCheckpoint')}</dt>
              <dd>
                <Data>{s.lastCheckpointSeq ?? '—'}</Data>
                {s.lastCheckpointSeq !== null && s.seq > s.lastCheckpointSeq ? <> {t('auditor.chain.unsigned', { n: s.seq - s.lastCheckpointSeq })}</> : null}
              </dd>
              <dt>{t('auditor.chain.signingKey')}</dt>
              <dd>
                <Data>
                  <code>{s.signingKeyId}</code>
                </Data>
              </dd>
              <dt>{t('auditor.chain.jwks')}</dt>
              <dd>
                <a href={s.jwksPath} data-i18n-exempt="">
                  <code>{s.jwksPath}</code>
                </a>
              </dd>
              <dt>{t('auditor.chain.queued')}</dt>
              <dd>{f.int(s.queued)}</dd>
              <dt>{t('auditor.chain.failing')}</dt>
              <dd>
                {s.failing ? (
                  <span className="ao-chip ao-deny">
                    <span aria-hidden="true">✗</span>
                    {t('auditor.chain.failingYes')}
                  </span>
                ) : (
                  <span className="ao-chip ao-allow">
                    <span aria-hidden="true">✓</span>
                    {t('auditor.chain.failingNo')}
                  </span>
                )}
              </dd>
            </dl>
            <div>
              <h3 className="ao-h3">{t('auditor.chain.kafka')}</h3>
              {s.kafka ? (
                <dl className="ao-kv" data-testid="chain-kafka">
                  <dt>{t('auditor.chain.kafkaConnected')}</dt>
                  <dd>
                    {s.kafka.connected ? (
                      <span className="ao-chip ao-allow">
                        <span aria-hidden="true">✓</span>
                        {t('auditor.chain.kafkaConnectedYes')}
                      </span>
                    ) : (
                      <span className="ao-chip ao-deny">
                        <span aria-hidden="true">✗</span>
                        {t('auditor.chain.kafkaConnectedNo')}
                      </span>
                    )}
                  </dd>
                  <dt>{t('auditor.chain.kafkaShipped')}</dt>
                  <dd>{f.int(s.kafka.shipped)}</dd>
                  <dt>{t('auditor.chain.kafkaPending')}</dt>
                  <dd className={s.kafka.pending > 0 ? 'warn' : undefined}>{f.int(s.kafka.pending)}</dd>
                  <dt>{t('auditor.chain.kafkaLastError')}</dt>
                  <dd>{s.kafka.lastError ? <Data>{s.kafka.lastError}</Data> : '—'}</dd>
                </dl>
              ) : (
                <p className="muted">{t('auditor.chain.kafkaNotConfigured')}</p>
              )}
            </div>
          </div>
        )}
      </Async>
    </section>
  );
}

function VerificationCard() {
  const { t, tx, lang } = useI18n();
  const f = useFormat();
  const result = useLoad(() => query<{ auditVerification: AuditVerification }>(AUDIT_VERIFICATION), []);
  const v = result.data?.auditVerification;
  return (
    <section className="card" aria-labelledby="chain-verify">
      <div className="ao-card-head">
        <h2 id="chain-verify">{t('auditor.verify.title')}</h2>
        <button type="button" onClick={result.reload} disabled={result.loading} data-testid="verify-again">
          {result.loading ? t('auditor.verify.running') : t('auditor.verify.again')}
        </button>
      </div>
      <ErrorBox error={result.error} />
      <div aria-live="polite" aria-busy={result.loading}>
        {!v && result.loading ? <Loading /> : null}
        {v ? (
          <>
            <div className={`ao-verdict ${v.ok ? 'ao-verdict-ok' : 'ao-verdict-bad'}`} data-testid="verification" data-ok={String(v.ok)}>
              <span className="ao-verdict-mark" aria-hidden="true">
                {v.ok ? '✓' : '✗'}
              </span>
              <div>
                <div className="ao-verdict-title">{v.ok ? t('auditor.verify.verified') : t('auditor.verify.failed')}</div>
                <div>{v.ok ? t('auditor.verify.verifiedText') : t('auditor.verify.failedText')}</div>
              </div>
            </div>
            {v.problem ? (
              <dl className="ao-kv ao-problem">
                <dt>{t('auditor.verify.failed')}</dt>
                <dd>
                  {tx(`auditor.problem.${v.problem.kind}`, v.problem.kind)} (<Data>{v.problem.kind}</Data>)
                </dd>
                <dt>{t('auditor.verify.where')}</dt>
                <dd>
                  {t('auditor.verify.whereValue', { instance: v.problem.instance ?? '—', seq: v.problem.seq ?? '—' })}
                </dd>
                <dt>{t('auditor.verify.message')}</dt>
                <dd>
                  <Data>{lang === 'zh' ? v.problem.messageZh : v.problem.messageEn}</Data>
                </dd>
              </dl>
            ) : null}
            <dl className="ao-kv">
              <dt>{t('auditor.verify.records')}</dt>
              <dd>{f.int(v.records)}</dd>
              <dt>{t('auditor.verify.checkpoints')}</dt>
              <dd>
                {f.int(v.checkpoints)}
                {v.unsigned > 0 ? <> {t('auditor.chain.unsigned', { n: f.int(v.unsigned) })}</> : null}
              </dd>
              <dt>{t('auditor.verify.instances')}</dt>
              <dd>{f.int(v.instances)}</dd>
              <dt>{t('auditor.verify.span')}</dt>
              <dd>
                <Time iso={v.from} /> – <Time iso={v.to} />
              </dd>
              <dt>{t('auditor.verify.verifiedAt')}</dt>
              <dd>
                <Time iso={v.verifiedAt} />
              </dd>
            </dl>
          </>
        ) : null}
      </div>
    </section>
  );
}

/** The file name a content-disposition header gives (RFC 6266: filename* first), if any. */
function fileNameOf(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain?.[1]?.trim() || null;
}

async function hubErrorOf(response: Response): Promise<HubError> {
  // The hub's HTTP routes answer { error: { code, messageZh, messageEn, … } }; GraphQL-style { errors } is read too.
  const body = (await response.json().catch(() => ({}))) as { error?: Record<string, unknown>; errors?: { message?: string; extensions?: Record<string, unknown> }[] };
  const raw = body.errors ?? (body.error ? [{ extensions: body.error }] : [{ message: `HTTP ${response.status}` }]);
  const infos: HubErrorInfo[] = raw.map((e: { message?: string; extensions?: Record<string, unknown> }) => {
    const ext = e.extensions ?? {};
    const message = e.message ?? `HTTP ${response.status}`;
    return {
      code: typeof ext.code === 'string' ? ext.code : 'INTERNAL',
      messageZh: typeof ext.messageZh === 'string' ? ext.messageZh : message,
      messageEn: typeof ext.messageEn === 'string' ? ext.messageEn : message,
      extensions: ext,
    };
  });
  return new HubError(infos, response.status);
}

/** Fetches the export with the session's token and saves it (Blob, object URL, <a download>). */
async function downloadExport(from: string, to: string): Promise<{ name: string; size: number }> {
  const params = new URLSearchParams({ from, to });
  const response = await fetch(`/audit/export?${params.toString()}`, { headers: { accept: 'application/x-ndjson, application/json', ...authHeader() } });
  if (!response.ok) throw await hubErrorOf(response);
  const blob = await response.blob();
  const name = fileNameOf(response.headers.get('content-disposition')) ?? `tongxiang-audit-${from.slice(0, 10)}-${to.slice(0, 10)}.jsonl`;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, size: blob.size };
}

function ExportCard() {
  const { t } = useI18n();
  const f = useFormat();
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 7 * 24 * 3600_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date()));
  const [badRange, setBadRange] = useState(false);
  const [done, setDone] = useState<{ name: string; size: number } | null>(null);
  const action = useAction(async (fromIso: string, toIso: string) => {
    setDone(null);
    setDone(await downloadExport(fromIso, toIso));
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const fromIso = fromLocalInput(from);
    const toLocal = fromLocalInput(to);
    // The end minute is inclusive: up to its last millisecond.
    const toIso = toLocal ? new Date(Date.parse(toLocal) + 59_999).toISOString() : toLocal;
    const bad = !fromIso || !toIso || fromIso >= toIso;
    setBadRange(bad);
    if (!bad) void action.run(fromIso, toIso);
  };

  return (
    <section className="card" aria-labelledby="chain-export">
      <h2 id="chain-export">{t('auditor.export.title')}</h2>
      <p className="ao-prose">{t('auditor.export.intro')}</p>
      <form onSubmit={onSubmit} noValidate>
        <div className="ao-inline">
          <div>
            <label htmlFor="export-from">{t('auditor.export.from')}</label>
            <input id="export-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
          </div>
          <div>
            <label htmlFor="export-to">{t('auditor.export.to')}</label>
            <input id="export-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
          </div>
          <button type="submit" disabled={action.busy} data-testid="export-submit" className="ao-align-end">
            {action.busy ? t('auditor.export.busy') : t('auditor.export.submit')}
          </button>
        </div>
      </form>
      {badRange ? (
        <div className="error" role="alert">
          {t('auditor.export.badRange')}
        </div>
      ) : null}
      <ErrorBox error={action.error} />
      <p aria-live="polite" data-testid="export-done">
        {done ? t('auditor.export.done', { name: done.name, size: t('auditor.export.bytes', { n: f.int(done.size) }) }) : null}
      </p>
      <p className="ao-prose">{t('auditor.export.offline')}</p>
      <code className="ao-cmd">tongxiang audit verify --file FILE.jsonl</code>
      <p className="ao-prose">{t('auditor.export.keys', { path: '/audit/jwks.json' })}</p>
      <code className="ao-cmd">
        {`curl -s ${window.location.origin}/audit/jwks.json > hub-keys.json\ntongxiang audit verify --file FILE.jsonl --keys hub-keys.json`}
      </code>
    </section>
  );
}

export function ChainPage() {
  const { t } = useI18n();
  return (
    <>
      <PageHeader title={t('auditor.chain.title')} />
      <p className="muted ao-prose">{t('auditor.chain.intro')}</p>
      <VerificationCard />
      <StatusCard />
      <ExportCard />
    </>
  );
}
