"""Model versions: promotion of a finished training job through the quality gate onto a new, never-reused live
key (`promotion`), reading the artifact's metrics without downloading the model (`artifact`), the versions and
the live pointer (`versions`), and the brand's verdict policy per class (`policy`).

Lambda-side: may import `errors`, `settings`, `keys`, `contracts`, `annotations` and the ports of `aws`;
never `training.container`, `inference`, `local` or `cli`.
"""
