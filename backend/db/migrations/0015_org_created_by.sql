-- Which organisation's administrator created an organisation (NULL: created by `schakel init`, the demo or
-- by hand). An administrator manages his own organisation and those his organisation created: he renames
-- them, creates their accounts and links a gemeente he manages to a meldkamer (the gemeente's consent to be
-- seen there). Nobody manages another administrator's organisation by knowing its id.
ALTER TABLE organisations ADD COLUMN created_by_org_id integer REFERENCES organisations(id);
