"""The background worker: claims outbox tasks, runs them, backs off, dead-letters."""
