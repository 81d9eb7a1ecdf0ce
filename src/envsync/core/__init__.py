"""The pure core: env.toml, the lock, the plan, group selection, pruning, rendering. No I/O."""
