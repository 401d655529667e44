"""The JSON API (v1, Django REST framework): token authentication, endpoints, idempotency keys,
throttling, one error shape, the OpenAPI schema and the token and notification pages.

The top layer with the pages: may import the domain, ``forms`` and the pages' helpers (console
roles, the customer ownership helper); nothing imports it but the URL configuration.
"""
