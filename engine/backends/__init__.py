"""One module per backend behind the Backend interface."""
