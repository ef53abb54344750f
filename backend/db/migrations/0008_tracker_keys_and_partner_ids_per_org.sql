-- Tracker keys and partner incident ids are unique per organisation, not across all gemeenten: a refused
-- duplicate must not tell one gemeente another's key or incident id.
-- Tracker keys (the only credential of /osmand) are issued by the server as 32 random bytes and stored as
-- their sha256 only; a key is shown once, when it is issued. Keys registered before this migration keep
-- working (hashed here) until a team lead issues a new one (POST /api/devices/{id}/enrolment).

ALTER TABLE devices ADD COLUMN tracker_key_hash bytea;
UPDATE devices SET tracker_key_hash = sha256(convert_to(tracker_key, 'UTF8')) WHERE tracker_key IS NOT NULL;
ALTER TABLE devices DROP COLUMN tracker_key;
ALTER TABLE devices ADD CONSTRAINT devices_tracker_key_per_org UNIQUE (org_id, tracker_key_hash);
CREATE INDEX devices_by_tracker_key ON devices (tracker_key_hash) WHERE tracker_key_hash IS NOT NULL;

ALTER TABLE incidents DROP CONSTRAINT incidents_source_external_id_key;
ALTER TABLE incidents ADD CONSTRAINT incidents_partner_id_per_org UNIQUE (org_id, source, external_id);
