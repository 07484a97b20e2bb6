"""Pure domain rules: money, status lattice, card guard, markets.

Imports nothing of paybridge.
"""
