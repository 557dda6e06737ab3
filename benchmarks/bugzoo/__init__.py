"""The bug zoo: every bug class of bug-classes.md injected into real datasets, nncheck run
on each case and on the healthy recipes, and the detection matrix written to
benchmarks/results/bugzoo.md. Run it with ``python -m benchmarks.bugzoo``."""
