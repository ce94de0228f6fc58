"""Thin Lambda handlers over the `authentic` domain package: parse the event, call one domain function."""
