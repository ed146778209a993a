"""The encrypted, deduplicated snapshot store (format in docs/FORMAT.md)."""
