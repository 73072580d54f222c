# timeout and sleep: a command stopped after its time, one that finishes in time.
timeout 1 sleep 30; echo "timed out: $?"
timeout 2 sleep 0.1; echo "in time: $?"
timeout -s INT 1 sleep 30; echo "stopped by SIGINT: $?"
start=ok; sleep 0.05 && echo "slept: $start"
