"""Upload and ingest: presigned upload forms for annotated photos (`forms`), pairing each photo with its
annotation and normalising both into the brand's dataset or a rejected record (`service`), and the brand's
ingest report (`report`).

Lambda-side: may import `errors`, `settings`, `keys`, `contracts`, `media`, `annotations` and the ports of
`aws`; never `training.container`, `inference`, `local` or `cli`.
"""
