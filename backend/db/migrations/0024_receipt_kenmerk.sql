-- The short kenmerk on a fine's kennisgeving/aankondiging that a citizen can quote on the phone
-- ("26-K7M3-Q9XA"), instead of the registration's UUID. Derived from the UUID (backend/registrations/kenmerk.py)
-- and stored the first time it is needed, so it never changes; unique within a gemeente.
CREATE TABLE registration_kenmerken (
    registration_id  uuid PRIMARY KEY REFERENCES registrations(id) ON DELETE CASCADE,
    org_id           integer NOT NULL REFERENCES organisations(id),
    kenmerk          text NOT NULL CHECK (kenmerk ~ '^[0-9]{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'),
    assigned_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, kenmerk)
);
