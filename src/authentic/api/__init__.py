"""The Lambda edge: the REST resolver every API function uses, with the routes checked against the wiring and
domain errors mapped to answers in one place (`rest`); structured logs and business metrics (`observability`).

May import `errors`, `wiring` and Powertools; the handlers in `lambdas/` import it. Never imports a domain
package, `inference`, `local` or `cli`.
"""
