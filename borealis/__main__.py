import sys

from borealis.cli import main

sys.exit(main())
