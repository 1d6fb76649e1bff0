# helm test: each storage service of SERVICE_URLS answers over TLS, verified against the offline TLS root for the
# name its clients dial, and refuses an unsigned request (401): it is up, and its door is shut to strangers.
import os
import ssl
import sys
import urllib.error
import urllib.request

context = ssl.create_default_context(cafile="/etc/medledger/trust/tls-root.pem")
failed = 0
for url in os.environ["SERVICE_URLS"].split():
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            outcome = f"answered {answer.status} to an unsigned request"
    except urllib.error.HTTPError as error:
        outcome = "refuses an unsigned request: OK" if error.code == 401 else f"answered {error.code}"
    except OSError as error:
        outcome = str(error)
    print(f"{url}: {outcome}")
    failed += not outcome.endswith(": OK")
sys.exit(1 if failed else 0)
