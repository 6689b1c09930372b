"""Workflows that chain the layers below: the demo (data, training, sampling, report)."""
