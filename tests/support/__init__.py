"""What the tests are built from, apart from the tests themselves: datasets laid out as released, models made
small, media, the browser harness, and the reference code only tests and ``bench/`` use.

Imported as ``support.<module>``: pytest puts ``tests/`` on ``sys.path`` (the folder of the rootdir's
``conftest.py``, the default ``prepend`` import mode), and a bench script that uses one inserts ``tests/`` itself.
``browser/`` is the npm package (pinned ``playwright-core``) and node scripts of the browser tests.
"""
