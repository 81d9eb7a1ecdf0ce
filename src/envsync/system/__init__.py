"""envsync's contact with the machine: processes, guarded deletion, atomic writes, cache folder."""
