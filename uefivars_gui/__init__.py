"""uefivars-gui: a workbench for the UEFI variable stores of virtual machines."""

__version__ = "0.1.0"
