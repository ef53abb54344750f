"""One module per partner format: pure `encode_*`/`decode_*` functions, validated against official schemas."""
