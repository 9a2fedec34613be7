"""The reference model family in plain torch: Engram memory, DeepSeek Sparse Attention, mHC, the decoder."""
