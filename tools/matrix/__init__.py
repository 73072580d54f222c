"""Matrix testing: kernel variants x workloads, run in parallel, reported and remembered."""
