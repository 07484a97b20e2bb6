"""Adapters: typed HTTP clients for the providers paybridge talks to (Checkout.com, Salesforce)."""
