# t/unit/: Check suites, one per module; each links only its module and below.
