"""Operators: admin accounts (passwords, sign-in throttle) and the admin pages' reports."""
