/** What a readiness probe of one source reports (the gateway's /readyz lists one per source). */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  /** The outcome in a few words (`HTTP 200`, `timeout`, …), never a URL or a credential. */
  detail: string;
}
