"""Test-problem collections: built-in problems with known solutions."""
