"""The administrator's API: organisations and their links, accounts, tablets and trackers (``/api/admin``)."""
