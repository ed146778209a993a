"""The operator console (Textual). Imported only when the console opens."""
