/**
 * The audit trail's vocabulary, shared by the writer, the stores, the verifier, the Kafka shipper
 * and the gateway. Everything here is plain data: JSON in, JSON out.
 *
 * A log is a sequence of entries, one JSON object per line (JSONL). Each writer (gateway instance)
 * has its own hash chain: `hash = H(prev || canonical(record))`, where `prev` is the previous
 * record's hash (64 zero hex digits for the first), `||` is concatenation of the prev hash's hex
 * text and the canonical JSON (RFC 8785) of the record, as UTF-8 bytes, and H is SHA-256 or SM3
 * (hex output). The record carries its own `instance` and `seq`, so both are under the hash.
 */

export const HASH_ALGORITHMS = ['sha256', 'sm3'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** The `prev` of a chain's first record. */
export const GENESIS = '0'.repeat(64);

/** A field coordinate's decision, as the enforcement made it. */
export interface AuditCoordinate {
  readonly coordinate: string;
  readonly decision: 'allow' | 'mask' | 'deny';
  /** allow: unconditional / owner / contract; mask: the rule; deny: the reason. */
  readonly detail: string;
  readonly contractId: string | null;
}

/** One upstream call made for the request. */
export interface AuditSourceCall {
  readonly source: string;
  /** `ok`, or the UPSTREAM_* error code. */
  readonly status: string;
  readonly latencyMs: number;
}

/** A data subject returned: keyed HMAC (hex) of the value, never the value. */
export interface AuditSubject {
  /** The subject key's kind: `idNumber` (公民身份号码) or `creditCode` (统一社会信用代码). */
  readonly kind: string;
  /** The subject key's id (keys rotate). */
  readonly keyId: string;
  readonly hmac: string;
}

export type AccessOutcome =
  /** Answered with data and no error. */
  | 'ok'
  /** Answered, some fields denied / withheld / in error. */
  | 'partial'
  /** No token, bad token (401). */
  | 'unauthenticated'
  /** Refused before execution: reject-operation 403, reserved alias, validation. */
  | 'refused'
  /** Refused by a rate limit or quota (429). */
  | 'rate-limited'
  /** The hub failed (5xx). */
  | 'error';

/** What every record carries. `instance` and `seq` are filled by the writer. */
export interface RecordBase {
  readonly instance: string;
  readonly seq: number;
  /** ISO 8601 instant (UTC, milliseconds). */
  readonly time: string;
}

export interface AccessRecord extends RecordBase {
  readonly type: 'access';
  readonly requestId: string;
  /** The caller; null for unauthenticated requests. */
  readonly department: string | null;
  readonly user: string | null;
  readonly client: string | null;
  readonly operationName: string | null;
  /** SHA-256 (hex) of the query text; null when there was none. */
  readonly operationHash: string | null;
  readonly coordinates: readonly AuditCoordinate[];
  readonly contractIds: readonly string[];
  readonly purposes: readonly string[];
  /** Provider departments whose fields were decided (so an owner can find records about its data). */
  readonly providers: readonly string[];
  readonly sources: readonly AuditSourceCall[];
  readonly subjects: readonly AuditSubject[];
  /** Rows returned (objects of governed types that were shown). */
  readonly rows: number;
  readonly rowsWithheld: number;
  readonly outcome: AccessOutcome;
  readonly httpStatus: number;
  /** Catalogue error codes in the response, de-duplicated, sorted. */
  readonly errorCodes: readonly string[];
  /** Why, for unauthenticated / refused / rate-limited: a code, never a token or a value. */
  readonly reason: string | null;
  readonly durationMs: number;
}

export type AdminAction =
  | 'hub-start'
  | 'hub-stop'
  | 'contract-transition'
  | 'policy-reload'
  | 'audit-key-rotation'
  | 'subject-key-rotation'
  | 'signing-key-rotation'
  | 'failed-login'
  | 'config-change'
  | 'torn-tail-recovered'
  | 'dataset-published'
  | 'dataset-rejected'
  | 'dataset-rollback'
  | 'subscription-created'
  | 'subscription-cancelled'
  | 'dead-letter-replayed'
  /** An auditor downloaded an export of the log (GET /audit/export): range and counts. */
  | 'audit-export'
  /** The console's demo sign-in issued a token (department and role, never the token). */
  | 'console-demo-sign-in';

export interface AdminRecord extends RecordBase {
  readonly type: 'admin';
  readonly action: AdminAction;
  /** Who: `system`, or department and user. */
  readonly actor: { readonly department: string | null; readonly user: string };
  /** What, by action: contract id and transition, key ids, config digest... never secrets. */
  readonly details: Readonly<Record<string, unknown>>;
}

export type AuditRecord = AccessRecord | AdminRecord;

/** A record as the caller hands it to the writer (instance and seq not yet known). */
export type NewAuditRecord = Omit<AccessRecord, 'instance' | 'seq'> | Omit<AdminRecord, 'instance' | 'seq'>;

/** A record in a log, chained. */
export interface RecordEntry {
  readonly kind: 'record';
  readonly alg: HashAlgorithm;
  readonly prev: string;
  readonly hash: string;
  readonly record: AuditRecord;
}

/**
 * A signed checkpoint: a compact JWS (EdDSA, header `kid`) whose payload is
 * `{ instance, seq, head, alg, time }` — `head` the hash of record `seq` of that instance.
 */
export interface CheckpointEntry {
  readonly kind: 'checkpoint';
  readonly instance: string;
  readonly seq: number;
  readonly jws: string;
}

export type LogEntry = RecordEntry | CheckpointEntry;

export interface CheckpointPayload {
  readonly instance: string;
  readonly seq: number;
  readonly head: string;
  readonly alg: HashAlgorithm;
  readonly time: string;
}

export type VerifyProblemKind =
  | 'malformed'
  | 'record-modified'
  | 'record-missing'
  | 'records-reordered'
  | 'chain-forked'
  | 'checkpoint-invalid'
  | 'checkpoint-mismatch'
  | 'tail-cut';

export type VerifyResult =
  | {
      readonly ok: true;
      readonly records: number;
      readonly checkpoints: number;
      readonly duplicates: number;
      readonly instances: readonly { readonly instance: string; readonly firstSeq: number; readonly lastSeq: number; readonly lastCheckpointSeq: number | null; readonly head: string }[];
      /** Time of the first and last record; null when there are none. */
      readonly from: string | null;
      readonly to: string | null;
      /** Records after the last checkpoint of their instance (not yet signed): not an error. */
      readonly unsigned: number;
    }
  | {
      readonly ok: false;
      readonly problem: {
        readonly kind: VerifyProblemKind;
        readonly instance: string | null;
        readonly seq: number | null;
        /** 1-based line (entry number) in the input where it was found. */
        readonly line: number;
        /** Chinese and English, one line each. */
        readonly zh: string;
        readonly en: string;
      };
      /** Entries checked before the problem. */
      readonly checked: number;
    };

/** Where entries are appended and read back (a file in the data directory, or PostgreSQL). */
export interface AuditLogStore {
  /** Appends entries of one group commit; resolves once they are durable (fsync / commit). */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Every entry in append order. */
  read(options?: { readonly instance?: string }): AsyncIterable<LogEntry>;
  /**
   * Optional: the entries from index `from` (0-based, append order) on, without reading what
   * comes before when the store can help it (the file store remembers where its last such read
   * ended). For readers that move forward, like the Kafka shipper.
   */
  readFrom?(from: number): AsyncIterable<LogEntry>;
  /** The last record entry of `instance` (to continue its chain), and the last checkpoint seq. */
  tail(instance: string): Promise<{ readonly last: RecordEntry | null; readonly lastCheckpointSeq: number | null }>;
  close(): Promise<void>;
}
