"""Counterfeit detection: the domain package shared by Lambdas, containers and the local runtime."""

__version__ = "0.1.0"
