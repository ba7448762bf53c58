import sys

from omr_core.cli import main

sys.exit(main())
