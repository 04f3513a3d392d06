"""bytes <-> core values: store formats and file formats."""
