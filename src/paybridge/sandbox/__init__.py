"""`paybridge sandbox`: the whole system on one machine — API, worker, and stateful
simulators of Checkout.com and Salesforce in one process, with a small web console."""
