# helm test: each URL of HEALTH_URLS answers {"status": "OK"} over TLS verified against the offline TLS root.
import json
import os
import ssl
import sys
import urllib.request

context = ssl.create_default_context(cafile="/etc/medledger/trust/tls-root.pem")
failed = 0
for url in os.environ["HEALTH_URLS"].split():
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            status = json.loads(answer.read()).get("status")
    except (OSError, ValueError) as error:
        status = str(error)
    print(f"{url}: {status}")
    failed += status != "OK"
sys.exit(1 if failed else 0)
