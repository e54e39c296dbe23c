"""One hf_hub_download with the stock settings of whichever huggingface_hub is first on PYTHONPATH; prints one JSON line.

    HF_ENDPOINT=… HF_TOKEN=… HF_HOME=… PYTHONPATH=… /usr/bin/python3 cold_download.py <repo> <filename>

Run by tests/Gatehouse.EndToEnd.Tests/HuggingFaceColdDownloadTests.cs against files the upstream sends slowly.
"""

import hashlib
import json
import sys
import time

import huggingface_hub

started = time.monotonic()
result = {"version": huggingface_hub.__version__}
try:
    path = huggingface_hub.hf_hub_download(sys.argv[1], sys.argv[2])
    with open(path, "rb") as f:
        result.update(ok=True, sha256=hashlib.file_digest(f, "sha256").hexdigest())
except Exception as error:  # the test asserts on the type and the message the library gives its users
    status = getattr(getattr(error, "response", None), "status_code", None)
    result.update(ok=False, error_type=type(error).__name__, status=status, error=str(error))
result["seconds"] = round(time.monotonic() - started, 1)
print(json.dumps(result))
