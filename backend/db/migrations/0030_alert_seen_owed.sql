-- "Gezien" for a tablet that reconnects within the hour is read from the alerts themselves (any instance,
-- also one started after the acknowledgement): the safety alerts acknowledged recently.
CREATE INDEX alerts_recently_acknowledged ON alerts (acknowledged_at) WHERE acknowledged_at IS NOT NULL;
