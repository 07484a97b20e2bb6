"""The sandbox: paybridge with both simulators in one process, and its console."""
