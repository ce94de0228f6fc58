"""Barcodes in a shopper's photo: GS1 identifiers (`gtin`: check digits, GTIN-14, UPC-E, element strings and
Digital Link URIs, through `biip`), finding skewed linear symbols (`candidates`), and reading the photo with
zxing-cpp within a time budget (`reader`).

Pure domain code: may import `errors`, `contracts` and `media`; never AWS (`aws`, boto3), the REST edge or the
other capabilities. The verify route and the GTIN registry (in `models`) use it.
"""
