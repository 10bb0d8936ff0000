"""Minimal servers to compare tocsin with: the old Channels design and a raw ceiling."""
