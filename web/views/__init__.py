"""Pages that compose several apps, one module per page family: the dashboard, the inventory pages."""
