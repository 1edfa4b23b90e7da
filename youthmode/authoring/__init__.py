"""The policy authoring toolkit behind the `youthmode` command: check, explain, test,
schedule, diff, floor and schema. Each module registers its own subcommands."""
