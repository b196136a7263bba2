"""``python -m app.gui [--minimized] [--source SPEC]``."""

import sys

from app.gui import main

sys.exit(main(sys.argv[1:]))
