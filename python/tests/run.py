"""`npm test`'s Python suite: every test under python/tests, closing with `N passed, N failed`
like the other suites (scripts/test-all.js reads that line). Exit code 0 only when all passed."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

if __name__ == "__main__":
    sys.path.insert(0, TOP)
    suite = unittest.defaultTestLoader.discover(HERE, top_level_dir=TOP)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses) + len(result.skipped)
    passed = result.testsRun - failed
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)
