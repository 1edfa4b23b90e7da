"""The policy authoring library behind the `youthmode` command: check, explain, test, schedule,
diff, floor, replay and schema. It computes results and renders them (lines, JSON, SVG); parsing the
command line and printing is `youthmode.cli`'s. It never imports `youthmode.cli` or the server."""
