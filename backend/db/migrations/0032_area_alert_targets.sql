-- Which units a police area alert is for, and when each unit's tablet was sent it: the instance that holds a
-- unit's tablet reads these rows (told by NOTIFY with the alert id, or when the tablet connects) and sends it.
CREATE TABLE area_alert_targets (
    alert_id  bigint NOT NULL REFERENCES area_alerts(id) ON DELETE CASCADE,
    unit_id   integer NOT NULL REFERENCES units(id),
    sent_at   timestamptz,                 -- NULL: owed (the tablet was connected nowhere so far)
    PRIMARY KEY (alert_id, unit_id)
);
CREATE INDEX area_alert_targets_owed ON area_alert_targets (unit_id) WHERE sent_at IS NULL;
