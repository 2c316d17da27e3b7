"""SIEM export of the audit trail: the wire formats (``formats``), the connections (``transport``) and the
receiver-side chain verifier (``verify_chain``, standalone). The destinations and the forwarder that
keeps each one's position are ``integrations.services.siem``."""
