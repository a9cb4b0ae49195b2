import sys

from rez_client.cli import main

sys.exit(main())
