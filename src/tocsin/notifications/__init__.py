"""Notifications: the service that creates and changes them and decides what each change emits."""
