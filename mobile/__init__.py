"""The Schakel tablet app for boa's (Kivy): presenters, views and a persistent outbox."""

__version__ = "0.1.0"
