"""Virtual environments: interpreters, probing, dist-infos, creation, venv lock, safety, drift."""
