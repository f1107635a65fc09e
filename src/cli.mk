# src/: the command-line client logwire and logwire-bench.
