import sys

from tuning_provider.cli import main

sys.exit(main())
