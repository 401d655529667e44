"""Gunicorn settings for the web process: ``gunicorn -c deploy/gunicorn.conf.py portal.wsgi``.

Behind a TLS-terminating proxy (nginx, a load balancer) on the same host or network. Everything
can be overridden from the environment (see docs/deployment.md).
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Sync workers: pages are short; long work happens in Celery. 2 x cores + 1 is the usual start.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak cannot grow for ever.
max_requests = 2000
max_requests_jitter = 200
# Only the proxy may say the request came over HTTPS (with BEHIND_TLS_PROXY=true in Django).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Logs to stdout/stderr, collected by systemd's journal or the platform. URLs carry no secrets
# (API keys and tokens travel in headers, which are not logged).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Load the app before forking: faster start, less memory (database connections open after fork).
preload_app = True
