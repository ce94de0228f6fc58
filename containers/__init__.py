"""Container programs: each a Dockerfile plus an entry point that is a testable program."""
