"""Candidate sources for context packing, one module each."""
