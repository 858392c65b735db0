"""tracegrad, the application: the ``tracegrad`` command and what the library shares.

The library is ``autograd`` (the engine) and ``nn`` (the networks, on top); neither
imports the application. This package holds:

- the application: ``cli`` (the ``tracegrad`` command), ``recipe`` (``tracegrad train``
  as a function: data, model, optimiser and schedule from one ``Recipe``) and ``demo``
  (the scalar MLP on two moons that ``make demo`` trains);
- what the library and the application share, about neither: ``files`` (atomic writes),
  ``rng`` (random generators passed explicitly) and ``words`` (counts in messages, "1
  feature", "2 features").
"""
