"""Repositories: queries over one connection; they never commit."""
