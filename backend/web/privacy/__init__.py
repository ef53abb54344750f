"""The privacy officer's page (/privacy/): the audit log, inzageverzoeken and retention runs."""
