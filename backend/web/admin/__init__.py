"""The administrator's page (/beheer/): organisations, accounts, tablets and trackers, retention periods."""
