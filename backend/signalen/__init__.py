"""Signalen, the open-source melding system many gemeenten run (github.com/Amsterdam/signals).

Signals in handhaving categories become Schakel meldingen, the boa's progress is written back as Signalen
status and notes, and observations boa's make for another department are filed as new signals and followed.
"""
