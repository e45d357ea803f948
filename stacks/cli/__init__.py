"""The ``trellis`` command line: kept light, each command imports its engine when it runs."""
