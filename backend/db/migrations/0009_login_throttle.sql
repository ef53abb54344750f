-- Login attempts that count against an account (by username) or a client address, for the login throttle.
-- Kept in PostgreSQL, not in memory, so every backend instance counts the same attempts. A row is written
-- before the password is checked (parallel guesses cannot slip past the count) and removed again when the
-- login succeeds; rows older than the window are swept as new ones arrive.
CREATE TABLE login_attempts (
    id       bigserial PRIMARY KEY,
    scope    text NOT NULL CHECK (scope IN ('account', 'address')),
    key      text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_attempts_key ON login_attempts (scope, key, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
