"""Real servers the test session starts on 127.0.0.1: SeaweedFS (S3) and a Hub-compatible server."""
