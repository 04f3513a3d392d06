"""The `uefivars` command line."""
