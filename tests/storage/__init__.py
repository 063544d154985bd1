"""Artifact stores against real servers: SeaweedFS (S3) and the Hub-compatible server."""
