-- Tablet enrolment: a tablet logs in bound to its device only with the per-device secret that an admin or team
-- lead was shown once when enrolling it (POST /api/devices, POST /api/devices/{id}/enrolment). The secret is 32
-- random bytes, so its sha256 is enough here (Argon2 is for passwords). Tablets registered before this
-- migration have none and must be enrolled before they can log in again.

ALTER TABLE devices ADD COLUMN secret_hash bytea;
