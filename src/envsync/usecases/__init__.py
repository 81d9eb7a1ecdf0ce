"""What a command does (lock, plan, apply, check, export, run): plain calls in a fixed order."""
