"""Reusable judgements: values, gradients, statistics, properties, timing, forbidden calls."""
