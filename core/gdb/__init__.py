"""A GDB remote serial protocol stub: ``kernkit boot --gdb HOST:PORT`` (see :mod:`.session`)."""
