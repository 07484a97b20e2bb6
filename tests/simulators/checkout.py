"""The Checkout.com simulator lives in the package (`paybridge.sandbox`); tests import it here."""

from __future__ import annotations

from paybridge.sandbox.checkout_sim import CheckoutSimulator, SimPayment
from paybridge.sandbox.ids import cko_id
from paybridge.sandbox.transports import LosingResponses

__all__ = ["CheckoutSimulator", "LosingResponses", "SimPayment", "cko_id"]
