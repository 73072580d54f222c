# Command substitution: $(...), backquotes, nesting, in arithmetic, trailing newlines removed.
now=$(echo "inner value")
echo "got: $now"
old=`echo backquoted`
echo "got: $old"
echo "nested: $(echo "a $(echo "b $(echo c)")")"
lines=$(printf 'x\ny\nz\n' | wc -l)
echo "lines: $((lines + 0))"
trailing=$(printf 'text\n\n\n')
echo "[$trailing]"
for f in $(seq 3); do printf '%s.' "$f"; done; echo
echo "status of a failing substitution: $(false; echo $?)"
sum=0; for n in $(seq 1 10); do sum=$((sum + $(echo "$n"))); done; echo "sum $sum"
