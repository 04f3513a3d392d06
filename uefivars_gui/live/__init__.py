"""Sockets, processes, files that change under us, clocks."""
