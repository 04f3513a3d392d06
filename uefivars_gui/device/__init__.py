"""The uefi-vars device as a sans-I/O engine."""
