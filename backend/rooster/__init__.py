"""Shift planning: the rooster."""
