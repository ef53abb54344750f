-- The team lead's workspace: which aggression incidents a team lead has seen (new ones are flagged until
-- then), and beats that are retired (no longer used for new assignments or the geofence; history keeps them).
CREATE TABLE registration_seen (
    registration_id  uuid PRIMARY KEY REFERENCES registrations(id) ON DELETE CASCADE,
    seen_by          integer NOT NULL REFERENCES accounts(id),
    seen_at          timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE beats ADD COLUMN retired_at timestamptz;
