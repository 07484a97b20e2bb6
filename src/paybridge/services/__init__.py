"""Use cases: each owns its transaction phases (claim → call → record)."""
