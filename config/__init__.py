"""Process settings and the per-repository configuration file."""
