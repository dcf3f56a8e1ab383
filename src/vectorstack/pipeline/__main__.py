import sys

from vectorstack.pipeline.cli import main

sys.exit(main())
