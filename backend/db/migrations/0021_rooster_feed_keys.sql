-- A boa's iCalendar feed: a calendar app fetches it without a login header, so the URL carries a secret.
-- Only its sha256 is stored (the secret is shown once when issued); deleting the row revokes the feed,
-- issuing again replaces it (the old URL stops working).
CREATE TABLE rooster_feed_keys (
    account_id   integer PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret_hash  bytea NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    issued_by    integer REFERENCES accounts(id),
    last_used_at timestamptz
);
