"""A faithful local emulator of Scaleway Secret Manager v1beta1 and Account v3 projects."""
