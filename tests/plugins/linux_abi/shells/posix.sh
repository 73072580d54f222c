# Checks every shell runs alike (POSIX sh); each prints "name: result".
trap 'echo "trap EXIT: ran"' EXIT
trap 'echo "trap INT: caught"' INT
kill -INT $$
echo "after INT: still running"
trap 'echo "trap USR1: caught"' USR1
kill -USR1 $$
trap '' USR2
kill -USR2 $$
echo "ignored USR2: survived"
trap - USR1
s=""
for i in 1 2 3 4 5; do x=$(echo "$i"); s="$s$x"; done
echo "command substitution in a loop: $s"
n=0
while [ $n -lt 20 ]; do n=$(expr $n + 1); done
echo "twenty \$(expr) in a loop: $n"
yes | head -n 3
echo "yes | head: done"
# a job just started is given time to exec: a signal that comes first may find the shell's
# own handlers in the child (a race on Linux as well)
sleep 5 &
p=$!
sleep 0.1
kill $p
wait $p
echo "killed background sleep: $?"
sleep 5 &
p=$!
sleep 0.1
kill -ALRM $p
wait $p
echo "sleep interrupted by SIGALRM: $?"
(exit 3) &
wait $!
echo "background exit status: $?"
sleep 1 &
p=$!
sleep 0.1
kill -STOP $p
kill -CONT $p
wait $p
echo "stopped and continued sleep: $?"
sh -c 'kill -TERM $$'
echo "child shell killed by TERM: $?"
kill -0 $$
echo "kill -0 self: $?"
timeout 1 sleep 5
echo "timeout 1 sleep 5: $?"
timeout -s KILL 1 sleep 5
echo "timeout -s KILL: $?"
( trap 'echo "subshell EXIT trap"' EXIT; exit 4 )
echo "subshell status: $?"
printf 'a\nb\n' | while read -r l; do echo "piped line <$l>"; done
ulimit -n 50
echo "ulimit -n: $(ulimit -n)"
exit 0
