"""Views, split by audience: customer pages, staff console, API, webhooks."""
