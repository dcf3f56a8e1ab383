from testservices.cli import main

raise SystemExit(main())
