"""Engines: backup, restore, copy and preflight, reporting progress through events."""
