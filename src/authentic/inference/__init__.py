"""The inference container: the detector (`detector`: decoding, letterbox, ONNX Runtime, NMS), the models held in
memory against a budget (`resident`, sized from the host by `host`), and SageMaker's multi-model server API
(`server`, run by the image's `serve` shim).

May import `errors`, `contracts`, `media` and `annotations.model`; never `aws`, the Lambda-side packages,
`local` or `cli` (the image carries none of them).
"""
