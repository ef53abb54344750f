-- One active bridge per partner, and what the status feed last sent (docs/bridge.md, section 10).
-- bridge_leases: the bridge that holds a partner's lease is the only one that links to it, follows the
-- backend for it and hands its inbox over; it renews the lease while alive. Another bridge on the same
-- database waits and takes the lease over once it has expired (its holder died or lost the database).
CREATE TABLE bridge_leases (
    partner      text PRIMARY KEY,
    holder       text NOT NULL,            -- host:pid:random of the bridge process holding it
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    renewed_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- bridge_feed_sent: the last unit status and position queued per partner and unit, written in the
-- transaction that queues it, so a restarted bridge does not send unchanged state again.
CREATE TABLE bridge_feed_sent (
    partner      text NOT NULL,
    unit         text NOT NULL,            -- "<organisation code>/<call sign>"
    status       text,
    status_since timestamptz,
    position_at  timestamptz,
    PRIMARY KEY (partner, unit)
);
