-- A change of an account's role, organisation or active flag is a security event: audited by a trigger, so
-- every path that changes an account (the API, the CLI, SQL by hand) is recorded. The actor is the account
-- named in the transaction setting `schakel.actor_id` when the changing code sets it, else unknown.
-- (Password changes and resets are audited by the routes that make them.)
CREATE FUNCTION accounts_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role OR NEW.org_id IS DISTINCT FROM OLD.org_id
       OR NEW.active IS DISTINCT FROM OLD.active THEN
        INSERT INTO audit_log (org_id, actor_id, action, object_type, object_id, result, origin, details)
        VALUES (NEW.org_id, NULLIF(current_setting('schakel.actor_id', true), '')::integer, 'account_change',
                'account', NEW.id::text, 'ok', 'database',
                jsonb_build_object('role', jsonb_build_array(OLD.role, NEW.role),
                                   'org_id', jsonb_build_array(OLD.org_id, NEW.org_id),
                                   'active', jsonb_build_array(OLD.active, NEW.active)));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_audit_change AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_change();
