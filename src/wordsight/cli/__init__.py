"""Command line interface. Nothing in the library imports this package."""
