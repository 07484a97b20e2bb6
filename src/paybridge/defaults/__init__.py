"""Shipped default data files (Salesforce field mapping), read through importlib.resources."""
