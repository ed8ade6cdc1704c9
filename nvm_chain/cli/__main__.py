"""python -m nvm_chain.cli — same as the ``nvm-chain`` command."""

import sys

from nvm_chain.cli import main

sys.exit(main())
