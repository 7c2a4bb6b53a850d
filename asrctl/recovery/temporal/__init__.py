"""Team mode: recovery runs as Temporal workflows (design notes below are filled in)."""
