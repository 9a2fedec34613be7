"""The model runtime: one Backend interface over the embedded torch engine and remote servers."""
