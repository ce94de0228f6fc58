"""The REST API's OpenAPI 3.1 document (`docs/openapi.json`), generated from the routes of `authentic.wiring` and
the request and response models of `authentic.openapi.models`.

`python -m authentic.openapi` writes it; `--check` fails when the checked-in file differs. A test regenerates it
too, and the property-based API test (schemathesis) runs it against the local API, so the document, the wiring
and the handlers' real answers cannot drift apart.

Layer: beside `cli` and `local` at the top; it may import anything, and nothing on the Lambda side imports it.
"""
