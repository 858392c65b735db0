"""make mutation: the runner, the per-mutant test selection and the test server."""
