# bash only: job specs, wait -n, read -t, PIPESTATUS, process substitution comes separately.
sleep 10 &
sleep 0.1
kill %1
wait $!
echo "kill %1, then wait for it: $?"
sleep 0.2 &
sleep 5 &
wait -n
echo "wait -n: $?"
kill %2 2>/dev/null
wait
yes | head -n 2 > /dev/null
echo "PIPESTATUS of yes | head: ${PIPESTATUS[*]}"
sleep 1 | { read -t 0.2 x; echo "read -t timed out: $?"; }
trap 'echo "ERR trap"' ERR
false
trap - ERR
f() { trap 'echo "RETURN trap"' RETURN; return 5; }
f
echo "function status: $?"
declare -a a=($(for i in 1 2 3; do echo $((i * i)); done))
echo "array from \$(...): ${a[*]}"
coproc cat
echo hi >&"${COPROC[1]}"
exec {COPROC[1]}>&-
read -r line <&"${COPROC[0]}"
echo "coproc: $line"
wait
