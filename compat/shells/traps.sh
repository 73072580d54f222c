# Traps: EXIT, a signal sent to the shell itself, resetting and ignoring.
trap 'echo "exit trap runs"' EXIT
trap 'echo "caught USR1"' USR1
kill -USR1 $$
echo "after USR1"
trap 'echo "caught USR2"; trap - USR2' USR2
kill -USR2 $$
trap '' HUP
kill -HUP $$
echo "HUP ignored"
( trap 'echo "subshell exit"' EXIT; echo "in subshell" )
f() { trap 'echo "TERM in f"' TERM; kill -TERM $$; }
f
echo "done"
