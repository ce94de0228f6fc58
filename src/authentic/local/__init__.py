"""The embedded default: the whole platform on one machine, no AWS account. moto's server stands in for S3,
DynamoDB and SQS (`provision` creates what the stateful stack declares); the rest of AWS is played here at the
edges: API Gateway (`gateway`), the events AWS would deliver (`events`), SageMaker's training jobs and
multi-model endpoint (`sagemaker`, `trainer`), all started together by `runtime`; `background` runs an app on
a socket in a thread.

The top layer with `cli`: may import anything in `authentic`, and the handlers of `lambdas/` by their wired name.
"""
