"""The shopper's verify route: a photo → the brand's live model on the multi-model endpoint → a verdict
(`service`), the verdict policy itself (`verdict`), and shrinking a photo over the endpoint's limit (`shrink`).

Lambda-side: may import `errors`, `settings`, `keys`, `contracts`, `media`, `models` and the ports of `aws`;
never `training.container`, `inference`, `local` or `cli`.
"""
