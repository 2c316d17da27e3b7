"""Evidence exports for auditors and GRC systems: BagIt bundles, OSCAL assessment results, a CSV feed.

Like :mod:`reports.rendering`, everything here takes plain records and returns bytes; nothing queries
the database.
"""
