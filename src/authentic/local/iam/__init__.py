"""IAM as AWS enforces it, on the embedded default: the synthesized templates' role policies resolved to the local
resource names (`templates`, `policies`), one local principal per role holding exactly its policy
(`principals`), and moto's own authentication with every decision made by an established evaluator,
@cloud-copilot/iam-simulate in a Node sidecar (`evaluator`, `enforcer`), conditions included.

Part of `local`: may import anything in `authentic`; nothing outside `local` imports it.
"""
