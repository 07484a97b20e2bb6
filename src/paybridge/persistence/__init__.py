"""Persistence: SQLAlchemy tables, engine, unit of work and repositories."""
