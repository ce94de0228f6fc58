"""The embedded default: the whole platform on one machine, with moto's server standing in for AWS."""
