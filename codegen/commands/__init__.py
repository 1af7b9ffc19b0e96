"""One module per `flowgen` verb: `configure(parser)` adds its options, `run(args)` returns the exit code."""
