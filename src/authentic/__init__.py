"""Counterfeit detection for brands: the domain package shared by the Lambdas, the two containers, the local
runtime and the CLI, one sub-package per capability.

Layers, top to bottom (a layer imports only from those below it; `pyproject.toml` states the rules and
`lint-imports` checks them):
- `cli`, `local`, `openapi`: the command line, the embedded default and the API document; may import anything.
- `inference` (the inference image), `training.container` (the training image), and the Lambda side:
  `api` (the REST edge), `ingest`, `training` (orchestration), `models`, `verify`.
- `aws`: the client factory, the ports the domain is typed on, and the boto3 adapters.
- `annotations`, then `media`: annotations and photos, no AWS.
- the top-level modules: `errors`, `contracts` (values every part agrees on), `settings`, `keys` (object key
  layout) and `wiring` (functions, routes, events).
"""

__version__ = "0.1.0"
