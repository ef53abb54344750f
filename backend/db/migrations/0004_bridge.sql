-- The meldkamer bridge: a durable outbox and inbox per partner (see docs/bridge.md).
-- Outbound: every message gets a per-partner sequence number with no gaps; the partner acknowledges
-- cumulatively; a message the partner refuses goes to the dead-letter list with its reason.
-- Inbound: a message is stored once (by sequence number and by message id) and then handed to Schakel.

CREATE TABLE bridge_partners (
    partner        text PRIMARY KEY,
    next_seq       bigint NOT NULL DEFAULT 1,   -- outbound: the seq the next enqueued message gets
    acked_seq      bigint NOT NULL DEFAULT 0,   -- outbound: the partner has everything up to here
    inbound_seq    bigint NOT NULL DEFAULT 0,   -- inbound: we have stored everything up to here
    delivered      bigint NOT NULL DEFAULT 0,   -- metrics: messages acknowledged by the partner
    failed         bigint NOT NULL DEFAULT 0,   -- metrics: delivery attempts that failed (link down, timeout)
    rejected       bigint NOT NULL DEFAULT 0,   -- metrics: messages the partner refused (dead letters)
    last_error     text,
    last_error_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bridge_outbox (
    partner          text NOT NULL REFERENCES bridge_partners(partner),
    seq              bigint NOT NULL,
    msg_id           text NOT NULL UNIQUE,
    type             text NOT NULL,
    body             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    PRIMARY KEY (partner, seq)
);
CREATE INDEX bridge_outbox_pending ON bridge_outbox (partner, seq) WHERE delivered_at IS NULL;

CREATE TABLE bridge_dead_letters (
    partner     text NOT NULL,
    seq         bigint NOT NULL,
    msg_id      text NOT NULL,
    type        text NOT NULL,
    body        text NOT NULL,
    reason      text NOT NULL,
    attempts    integer NOT NULL,
    created_at  timestamptz NOT NULL,
    dead_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner, seq)
);

CREATE TABLE bridge_inbox (
    id            bigserial PRIMARY KEY,
    partner       text NOT NULL REFERENCES bridge_partners(partner),
    seq           bigint NOT NULL,
    msg_id        text NOT NULL,
    type          text NOT NULL,
    body          text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,                  -- set by the consumer (e.g. "made a melding of it")
    result        text,                         -- what the consumer did, or why it could not
    UNIQUE (partner, seq),
    UNIQUE (partner, msg_id)
);
CREATE INDEX bridge_inbox_unprocessed ON bridge_inbox (partner, id) WHERE processed_at IS NULL;
