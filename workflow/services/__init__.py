"""Governance writes. Each service is transactional and records its audit event."""
