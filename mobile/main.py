"""Entry point for the Android build (python-for-android runs main.py); desktops use `python -m mobile`."""

from mobile.__main__ import main

main([])
