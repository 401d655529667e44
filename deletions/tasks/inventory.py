"""Inventory tasks: periodic sync from Extend and fetching run details for webhooks."""
