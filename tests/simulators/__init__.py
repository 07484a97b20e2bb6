"""Stateful fakes of Checkout.com and Salesforce, served as ASGI apps for tests."""
