"""Data assembly: read the database and fill the builders' input dataclasses (reads only, no writes)."""
