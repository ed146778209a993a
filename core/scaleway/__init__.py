"""Scaleway API: models, typed errors, IAM permission sets, and the async client."""
