-- 共享协议与其生命周期记录 / Sharing contracts and their lifecycle transitions.
-- Runs unchanged on PGlite and PostgreSQL. Never edit a migration that has shipped: add 002_….

-- Contract numbers: GX-<year>-<number>, the number from this sequence (never reused, never reset).
CREATE SEQUENCE contract_number_seq;

CREATE TABLE contracts (
  id                  text        PRIMARY KEY CHECK (id ~ '^GX-[0-9]{4}-[0-9]{6,}$'),
  consumer            text        NOT NULL CHECK (consumer ~ '^[0-9]{6}\.[a-z][a-z0-9_-]{0,31}$'),
  provider            text        NOT NULL CHECK (provider ~ '^[0-9]{6}\.[a-z][a-z0-9_-]{0,31}$'),
  fields              jsonb       NOT NULL CHECK (jsonb_typeof(fields) = 'array' AND jsonb_array_length(fields) > 0),
  purpose             text        NOT NULL CHECK (btrim(purpose) <> ''),
  legal_basis         text        NOT NULL CHECK (btrim(legal_basis) <> ''),
  scope               jsonb       NOT NULL CHECK (scope->>'kind' IN ('jurisdiction', 'regions', 'all')),
  valid_from          timestamptz NOT NULL,
  valid_until         timestamptz NOT NULL,
  requests_per_minute integer     CHECK (requests_per_minute >= 0),
  records_per_day     integer     CHECK (records_per_day >= 0),
  state               text        NOT NULL CHECK (state IN ('draft', 'pending', 'active', 'rejected', 'suspended', 'revoked', 'expired', 'withdrawn')),
  predecessor_id      text        REFERENCES contracts (id),
  version             integer     NOT NULL CHECK (version >= 1),
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  CHECK (valid_from < valid_until),
  CHECK (consumer <> provider)
);
CREATE INDEX contracts_by_consumer ON contracts (consumer, state);
CREATE INDEX contracts_by_provider ON contracts (provider, state);
CREATE INDEX contracts_by_predecessor ON contracts (predecessor_id) WHERE predecessor_id IS NOT NULL;
-- A contract has at most one live successor: two renewals racing cannot both succeed.
CREATE UNIQUE INDEX contracts_one_live_successor ON contracts (predecessor_id)
  WHERE state IN ('draft', 'pending', 'active', 'suspended');
CREATE INDEX contracts_by_end ON contracts (valid_until) WHERE state IN ('active', 'suspended');

-- Every step of every contract, forever. seq = the contract's version after the step.
CREATE TABLE contract_transitions (
  contract_id      text        NOT NULL REFERENCES contracts (id) ON DELETE RESTRICT,
  seq              integer     NOT NULL CHECK (seq >= 1),
  action           text        NOT NULL CHECK (action IN ('create', 'submit', 'withdraw', 'approve', 'reject', 'suspend', 'resume', 'revoke', 'expire', 'renew')),
  from_state       text,
  to_state         text        NOT NULL,
  actor            text        NOT NULL,
  actor_department text,
  at               timestamptz NOT NULL,
  reason           text,
  fields           jsonb,
  PRIMARY KEY (contract_id, seq),
  CHECK ((seq = 1) = (from_state IS NULL))
);

-- Append-only, in the database too: UPDATE, DELETE and TRUNCATE of a transition are refused,
-- whoever asks (a role that owns the table can still drop the trigger; the audit chain is what
-- makes that visible).
CREATE FUNCTION contract_transitions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'contract_transitions is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = '协议流转记录只可追加，不可修改或删除 / contract transitions are never updated or deleted';
END
$$;

CREATE TRIGGER contract_transitions_no_update_delete
  BEFORE UPDATE OR DELETE ON contract_transitions
  FOR EACH ROW EXECUTE FUNCTION contract_transitions_append_only();

CREATE TRIGGER contract_transitions_no_truncate
  BEFORE TRUNCATE ON contract_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION contract_transitions_append_only();

-- A contract never changes without its step on record: at commit, the row's version and state
-- must be those of a stored transition.
CREATE FUNCTION contracts_recorded() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM contract_transitions t
    WHERE t.contract_id = NEW.id AND t.seq = NEW.version AND t.to_state = NEW.state
  ) THEN
    RAISE EXCEPTION 'contract % version % (%) has no transition on record', NEW.id, NEW.version, NEW.state
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER contracts_have_history
  AFTER INSERT OR UPDATE ON contracts
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION contracts_recorded();
