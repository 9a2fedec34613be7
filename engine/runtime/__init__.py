"""Running the embedded model: checkpoint folders, the prefix-keeping KV cache, and the pieces of generation."""
