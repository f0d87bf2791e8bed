"""The `borealis` subcommands, one module per kind: the stack, drills, records, standalone
services. Each `cmd_*` takes the parsed arguments and the settings and returns an exit code."""
