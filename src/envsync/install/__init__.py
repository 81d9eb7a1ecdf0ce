"""Installers: the plan's wheels -> the venv (native, pip, uv), the wheel cache, the transaction."""
