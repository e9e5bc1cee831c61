"""CLI subcommands, one module each: `add_parser(subparsers)` declares it, `main(args)` runs it."""
