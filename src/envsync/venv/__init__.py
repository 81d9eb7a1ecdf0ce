"""Virtual environments: interpreters, probing, dist-info, creation, the venv lock, safety, drift."""
