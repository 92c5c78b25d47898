from recsys.evaluate.run import main

raise SystemExit(main())
