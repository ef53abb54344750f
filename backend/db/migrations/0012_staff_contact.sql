-- What the alarm banner, the team page and the rooster need to know of a person and a unit: how to reach
-- them (phone, portofoon), what they are qualified for, and their contract hours.
ALTER TABLE accounts
    ADD COLUMN phone           text CHECK (phone IS NULL OR length(phone) <= 40),
    ADD COLUMN portofoon       text CHECK (portofoon IS NULL OR length(portofoon) <= 40),
    ADD COLUMN qualifications  text[] NOT NULL DEFAULT '{}',   -- e.g. geweldsmiddelen, anpr, bhv
    ADD COLUMN contract_hours  numeric(4, 1) CHECK (contract_hours IS NULL OR contract_hours BETWEEN 0 AND 60),
    ADD COLUMN experienced     boolean NOT NULL DEFAULT false; -- counts as the experienced boa of a duo

ALTER TABLE units
    ADD COLUMN phone      text CHECK (phone IS NULL OR length(phone) <= 40),      -- the unit's own phone
    ADD COLUMN portofoon  text CHECK (portofoon IS NULL OR length(portofoon) <= 40); -- its radio (talk group)
