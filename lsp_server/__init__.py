"""The protocol layer: pygls handlers and the ``wholerepo`` command line."""
