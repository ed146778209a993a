"""The secret-kloset console (Textual)."""
