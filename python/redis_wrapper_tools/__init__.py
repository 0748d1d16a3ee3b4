"""Build, install, demo and test tooling for redis_wrapper (never in the query path)."""
