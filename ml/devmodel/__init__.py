"""The dev base model: a marketing-copy grammar (grammar.py) and the build that trains on it (build.py)."""
