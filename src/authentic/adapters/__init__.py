"""Adapters: every boto3 call for one service sits in one module here."""
