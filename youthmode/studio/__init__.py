"""Policy Studio: a local web page where product teams edit a pack and see, as they type, what
the authoring commands say about it (check, schedule, explain, test, diff, floor).

- `workspace.py`  the served folder with one file's text replaced, loaded in memory
- `fields.py`     reading an untrusted request body, field by field
- `answers.py`    each view's data, from `youthmode.authoring`
- `static/`       the page: HTML, a small TOML highlighter, the script and the style

No Flask here: the HTTP part is `youthmode.server.studio` (the blueprint, mounted at `/studio`
by `youthmode serve`) and `youthmode.server.studio_app` (the app of `youthmode studio`).
"""
