"""Marketplace events: one registry entry per event type, and their ingest into notifications."""
