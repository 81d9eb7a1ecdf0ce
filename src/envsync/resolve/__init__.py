"""Resolvers: env.toml's requirements -> pinned packages with their files (pip-tools, uv)."""
