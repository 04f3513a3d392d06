"""The only place that imports cryptography and pyasn1."""
