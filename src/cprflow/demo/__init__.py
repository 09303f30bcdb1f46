"""Demo accounts, demo cases and small sample documents for ``make run`` and the tests."""
