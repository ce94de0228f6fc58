"""Annotations: the canonical model every format converts into (`model`: categories, boxes, roles), boxes
carried with the Exif orientation (`orientation`), the seed JSON format and the geometry gate every box passes
(`seed`, `checks`), and bulk import of a folder (`folder`) with one module per format (`coco`, `yolo`, `voc`,
`groundtruth`).

May import `errors`, `contracts` and `media`; no AWS code.
"""
