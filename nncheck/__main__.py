from nncheck.cli import entry

entry()
