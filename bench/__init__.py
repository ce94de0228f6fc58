"""Benchmarks: never part of the tests; each measures the project against its baseline in one run."""
