"""The core layer of the tests (a package, so that its conftest and modules
do not shadow those of tests/sql, which import theirs by name)."""
