"""Credentials: profiles (XDG config + OS keyring), SCW_* environment, scw config file."""
