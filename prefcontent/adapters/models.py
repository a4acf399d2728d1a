"""Models of the adapters app."""
