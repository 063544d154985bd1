"""HTTP helpers every app uses: the error shape and exception handler, parsers, rate limits, the request's
context (X-Request-ID, access log), middleware, error views and the schema's common errors.

They import no app (the apps import them; `.importlinter` holds the contract): where a helper needs an app's
answer, the app plugs it in (e.g. `request_context.observers`, filled by inference at start-up).
"""
