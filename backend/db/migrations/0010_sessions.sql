-- A login session: one per login, shared by its family of rotated refresh tokens and by every access token
-- issued from them (claim `sid`). Ending the session ends all of them: logout, reuse of a rotated refresh
-- token (the family was stolen), and any change to the account that should put its holder out (role,
-- organisation, password, disabled) — the trigger below, so no code path that changes an account can forget.
-- Instances learn of ended sessions by reading `revoked_at` (an index on the ended ones keeps that cheap).
CREATE TABLE auth_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      integer NOT NULL REFERENCES accounts(id),
    device_id       integer REFERENCES devices(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoked_reason  text
);
CREATE INDEX auth_sessions_ended ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX auth_sessions_live ON auth_sessions (account_id) WHERE revoked_at IS NULL;

-- tokens issued before this migration have no session; refreshing one starts a session
ALTER TABLE refresh_tokens ADD COLUMN session_id uuid REFERENCES auth_sessions(id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE FUNCTION accounts_end_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    why := CASE
        WHEN NEW.active IS DISTINCT FROM OLD.active THEN 'account_disabled'
        WHEN NEW.role IS DISTINCT FROM OLD.role THEN 'role_changed'
        WHEN NEW.org_id IS DISTINCT FROM OLD.org_id THEN 'organisation_changed'
        WHEN NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN 'password_changed'
    END;
    IF why IS NOT NULL THEN
        UPDATE auth_sessions SET revoked_at = clock_timestamp(), revoked_reason = why
            WHERE account_id = NEW.id AND revoked_at IS NULL;
        UPDATE refresh_tokens SET revoked_at = now() WHERE account_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_end_sessions AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_end_sessions();
