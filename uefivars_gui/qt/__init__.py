"""The `uefivars-gui` desktop application (thin Qt layer)."""
