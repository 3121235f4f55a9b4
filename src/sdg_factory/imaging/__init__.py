"""Image maths as plain functions over numpy arrays (no I/O, no Kedro)."""
