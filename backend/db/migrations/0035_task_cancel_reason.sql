-- Why a task was cancelled (the operator's reason, the melding closed, or "overgenomen voor P1: …" when a P1
-- took the unit over): a tablet that was offline then gets the cancellation with its reason on reconnect.
ALTER TABLE tasks ADD COLUMN cancel_reason text NOT NULL DEFAULT '';
