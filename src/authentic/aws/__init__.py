"""AWS at the edge of the domain: the one cached client factory (`clients`), the ports the domain services are
typed on with their typed records (`ports`), and one boto3 adapter per service (`s3`, `dataset_records`,
`model_records`, `sagemaker`; `items` holds the DynamoDB helpers they share).

The only package that imports boto3 or botocore. May import `errors`, `contracts` and `settings`; never a
domain package (`ingest`, `training`, `models`, `verify`), `inference`, `local` or `cli`.
"""
