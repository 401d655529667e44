"""The JSON API (v1): token authentication, endpoints, OpenAPI schema, outbound notifications."""
