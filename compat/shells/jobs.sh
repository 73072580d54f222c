# Background jobs: &, $!, wait for one and for all, kill of a job, statuses.
sleep 0.2 &
first=$!
(sleep 0.1; exit 7) &
second=$!
wait "$second"; echo "second exited $?"
wait "$first"; echo "first exited $?"
for i in 1 2 3; do (sleep "0.$i"; echo "job $i done") & done
wait
echo "all jobs done"
sleep 10 &
victim=$!
sleep 0.2  # let it start sleep: a signal that comes first meets the shell's own handlers
kill "$victim"
wait "$victim"; echo "killed job: $?"
( exit 3 ) & wait $!; echo "subshell job: $?"
