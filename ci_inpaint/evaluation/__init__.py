"""Evaluation of trained methods: each paper's metrics loops and scores (one module per method)."""
