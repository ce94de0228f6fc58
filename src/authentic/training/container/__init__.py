"""The program SageMaker runs in the training image: read the frozen dataset from `/opt/ml`, split it, train a
YOLO-family detector with `ultralytics`, evaluate the exported ONNX model and write the artifact
(`program.main`).

May import `errors`, `contracts`, `media`, `annotations` and the shared parts of `training` (manifest,
hyperparameters, progress); never `aws`, `ingest`, `models`, `verify`, `api`, `inference`, `local` or `cli`.
`ultralytics`, `torch` and `onnxruntime` are imported only by the steps that need them, after
`offline.prepare_offline()` has made them offline.
"""
