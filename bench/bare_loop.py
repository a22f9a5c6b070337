"""Baseline: the least a Python extractor can do over the Getro jobs pages.

requests, parse each page, one json.dumps per record to stdout. Not part of tap-jobsources.
"""

import json
import sys

import requests

config = json.load(open(sys.argv[1]))
session = requests.Session()
headers = {"X-User-Email": config["getro_email"], "X-User-Token": config["getro_api_token"]}
write = sys.stdout.write
for network_id in config["network_ids"]:
    page = 1
    while True:
        url = f"{config['getro_api_url']}/networks/{network_id}/jobs"
        items = session.get(url, params={"page": page, "per_page": 100}, headers=headers).json()["items"]
        for record in items:
            write(json.dumps(record) + "\n")
        if len(items) < 100:
            break
        page += 1
