"""What autograd and nn both use and what is about neither: files and random numbers.

- ``tracegrad.files``: files written atomically (a reader never sees half of one).
- ``tracegrad.rng``: random generators passed explicitly (no global random state).

The library itself is ``autograd`` (the engine) and ``nn`` (the networks, on top).
"""
