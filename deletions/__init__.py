"""The domain app: workspaces, customers, the parse-run inventory and deletion requests."""
