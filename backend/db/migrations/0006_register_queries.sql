-- Register queries (vehicle plate, driving licence) by a boa, carried to the police by the meldkamer bridge.
-- The register's answer is held here only until the boa has it (then erased); the disclosure is in audit_log.

CREATE TABLE register_queries (
    id              bigserial PRIMARY KEY,
    account_id      integer NOT NULL REFERENCES accounts(id),
    kind            text NOT NULL CHECK (kind IN ('vehicle', 'driving_licence')),
    subject         text NOT NULL,           -- the plate or document number asked about
    purpose         text NOT NULL,
    legal_basis     text NOT NULL,
    request         jsonb NOT NULL,          -- what goes to the police (boa, unit, organisation, purpose, basis)
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'answered', 'disclosed', 'expired')),
    answer          jsonb,                   -- the register's answer, until the boa has it
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX register_queries_pending ON register_queries (id) WHERE state = 'pending';
