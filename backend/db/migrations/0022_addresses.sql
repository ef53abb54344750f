-- Addresses from the geocoder (PDOK Locatieserver): filled in the background after the write, never on the
-- path of an ack. address_state NULL = not looked up yet; 'found' = the geocoder named an address;
-- 'none' = it knows no address near; 'unreachable' = it could not be asked (tried again later) and only the
-- buurtcode of the containing buurt is known; 'off' = no geocoder is configured (buurtcode only).
-- address_text is the geocoder's weergavenaam; bag_id the BAG adresseerbaarobject (else nummeraanduiding) id;
-- buurtcode the CBS buurt (from the geocoder, else from the shipped buurt polygons).

ALTER TABLE registrations
    ADD COLUMN address_text  text,
    ADD COLUMN bag_id        text,
    ADD COLUMN buurtcode     text,
    ADD COLUMN address_state text CHECK (address_state IN ('found', 'none', 'unreachable', 'off')),
    ADD COLUMN address_at    timestamptz;

-- incidents.address (0003) stays the text the melding shows; the geocoder fills it only when it is empty
ALTER TABLE incidents
    ADD COLUMN address_text  text,
    ADD COLUMN bag_id        text,
    ADD COLUMN buurtcode     text,
    ADD COLUMN address_state text CHECK (address_state IN ('found', 'none', 'unreachable', 'off')),
    ADD COLUMN address_at    timestamptz;

ALTER TABLE alerts
    ADD COLUMN address_text  text,
    ADD COLUMN bag_id        text,
    ADD COLUMN buurtcode     text,
    ADD COLUMN address_state text CHECK (address_state IN ('found', 'none', 'unreachable', 'off')),
    ADD COLUMN address_at    timestamptz;

-- what the filler looks for: rows not yet (or not successfully) looked up
CREATE INDEX registrations_address_todo ON registrations (received_at)
    WHERE address_state IS NULL OR address_state = 'unreachable';
CREATE INDEX incidents_address_todo ON incidents (created_at)
    WHERE address_state IS NULL OR address_state = 'unreachable';
CREATE INDEX alerts_address_todo ON alerts (at)
    WHERE address_state IS NULL OR address_state = 'unreachable';
