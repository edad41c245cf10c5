import sys

from omnimeter.cli.main import main

sys.exit(main())
