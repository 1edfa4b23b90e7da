"""The HTTP server: Flask only, and nothing outside this package imports it.

  app.py            create_app: the state, the error handlers, the blueprints
  decisions.py      blueprint: /v1/decisions, /v1/decisions/batch, /v1/policies
  ledger.py         blueprint: usage, purchases and reservations, guardian controls
  health.py         blueprint: /healthz, /readyz, /metrics, /openapi.json, /docs, admin reload
  state.py          ServerState: what the blueprints of one app share
  problems.py       ApiProblem and RFC 9457 answers
  body.py           JSON bodies: Decimal amounts, depth, number and Unicode limits
  caller.py         request ids, API keys and scopes, tenants, what a caller may see
  openapi.py        the OpenAPI document, from the models and the app's route table
  schemas.py        the API's envelope models and example bodies
  studio.py         blueprint: Policy Studio at /studio (admin); studio_app.py: `youthmode studio`
  auth.py, config.py, reloader.py, metrics.py, decision_log.py
  runner.py         `youthmode serve`: checks, then gunicorn; worker.py: its worker class
  connection.py     the worker's deadline socket and raw problem answers; body_guard.py

`youthmode.api.create_app` is the promised front door.
"""
