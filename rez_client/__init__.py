"""``python -m rez_client``: the command-line client of the rez-agent schedules API.

Standard library plus botocore (for SigV4 signing) only; it is not part of the Lambda
package. Its commands are bound to the API's operations by method and path, and their
options come from the OpenAPI document the API serves (``GET /api/openapi.json``).
"""

from rez_client.cli import main

__all__ = ["main"]
