-- Police alerts for an area (CAP from a partner, via the meldkamer bridge): kept for the operators' record;
-- pushed once to the tablets of the units inside the area when they arrived.

CREATE TABLE area_alerts (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL,          -- the partner's name on the link
    external_id  text NOT NULL,          -- the CAP identifier
    event        text NOT NULL DEFAULT '',
    headline     text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    instruction  text NOT NULL DEFAULT '',
    severity     text NOT NULL DEFAULT '',
    urgency      text NOT NULL DEFAULT '',
    area_desc    text NOT NULL DEFAULT '',
    area         jsonb NOT NULL,         -- {"polygons": [[[lon, lat], ...]], "circles": [{lon, lat, radius_km}]}
    sent_at      timestamptz,
    expires_at   timestamptz,
    received_by  integer REFERENCES accounts(id),
    received_at  timestamptz NOT NULL DEFAULT now(),
    unit_ids     integer[] NOT NULL DEFAULT '{}',   -- the units whose tablets got it
    UNIQUE (source, external_id)
);
