"""paybridge: Salesforce orders paid through Checkout.com, with state kept true in both."""

__version__ = "0.1.0"
