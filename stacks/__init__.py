"""The CDK app: a stateful stack (data) and a service stack (code), composed of one construct per capability."""
