"""The benchmark suite (`nox -s bench`): the library next to the raw drivers, the services and the harness."""
