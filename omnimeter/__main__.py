import sys

from omnimeter.cli import main

sys.exit(main())
