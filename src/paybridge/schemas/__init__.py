"""Our public contract (pydantic models); the source of `openapi/`."""
