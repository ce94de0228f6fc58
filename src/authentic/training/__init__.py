"""Training orchestration: "this brand has finished" → check the dataset, freeze it as a manifest, start one
SageMaker training job, report its state (`jobs`); the manifest format (`manifest`), the hyperparameters a job
accepts (`hyperparameters`) and the progress line's metric definitions (`progress`), which the program in
`container` also reads.

Lambda-side: may import `errors`, `settings`, `keys`, `contracts`, `annotations` and the ports of `aws`; never
`training.container` (the program SageMaker runs, with torch and ultralytics), `inference`, `local` or `cli`.
"""
