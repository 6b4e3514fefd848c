"""`python -m guardrail` runs the CLI."""

import sys

from guardrail.cli import main

sys.exit(main())
