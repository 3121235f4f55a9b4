"""Model adapters behind small interfaces: each step has an embedded CPU default and real backends.

A backend is chosen by the ``backend:`` key of its pipeline's parameters and built by the
step's ``build_*`` function. Real backends keep real loading code (``from_pretrained`` from a
local folder, HTTP clients); nothing is fetched from a hub at run time.
"""
