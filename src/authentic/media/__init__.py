"""Photos as bytes: JPEG, PNG and HEIC parsing (`jpeg`, `png`), Exif (`exif`), orientation geometry (`geometry`),
and normalisation into an upright, metadata-free training image (`normalise`), with a stable reason for every
refusal (`rejections`).

The bottom of the domain: imports only `errors`, `contracts`, Pillow and pillow-heif; no AWS code, nothing from
another package of `authentic`.
"""
