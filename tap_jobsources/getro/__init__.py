"""Getro API v2: networks, companies, jobs, removed jobs, job details, talent, reference lists."""
