"""Bulk import of a folder of annotated photos into the canonical model: `folder.load_dataset` with one module
per format (`seed`, `coco`, `yolo`, `voc`, `groundtruth`), the steps they share (`base`) and class names from
`classes.txt` or a YOLO `data.yaml` (`names`). Used by the CLI, never by the Lambdas.
"""
