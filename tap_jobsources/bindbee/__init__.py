"""Bindbee unified ATS API: jobs across the ATS connectors of a Bindbee account."""
