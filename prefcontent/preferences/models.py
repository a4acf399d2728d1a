"""Models of the preferences app."""
