"""``python -m firewarden`` runs the command line, as the ``firewarden`` script does."""

from firewarden.cli import main

main()
