"""Tools that drive a kernel from outside: the command line, the matrix, scaffolds, trace
viewers, the pytest plugin. They use the core and the plugins; nothing there imports them."""
