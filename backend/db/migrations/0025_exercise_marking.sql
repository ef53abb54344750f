-- Exercise and test traffic (docs/bridge.md, section 11): a melding made for a drill or a test carries the
-- CAP 1.2 status word in lower case ('exercise' or 'test'; '' for real work). The console shows such a melding
-- as OEFENING / TEST, the bridge marks what it sends about it, and reports never count it.
ALTER TABLE incidents ADD COLUMN exercise text NOT NULL DEFAULT ''
    CHECK (exercise IN ('', 'exercise', 'test'));
