"""One construct per capability: storage, ingest, orchestration, verify, the API, Lambda defaults, bundling."""
