# Loops: for, while, until, break, continue, nested, arithmetic.
total=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    if [ $((i % 3)) -eq 0 ]; then continue; fi
    total=$((total + i))
done
echo "sum without multiples of 3: $total"
n=0
while :; do
    n=$((n + 1))
    [ "$n" -ge 7 ] && break
done
echo "while stopped at $n"
k=5
until [ "$k" -le 0 ]; do printf '%s ' "$k"; k=$((k - 1)); done
echo
for a in x y; do for b in 1 2 3; do [ "$b" = 2 ] && continue 2; printf '%s%s ' "$a" "$b"; done; done
echo
i=0; line=""
while [ $i -lt 20 ]; do line="$line$((i * i % 7))"; i=$((i + 1)); done
echo "$line"
for word in $(echo "one two three"); do echo "word: $word"; done
set -- alpha beta gamma
for arg; do echo "arg: $arg"; done
count=0
while read -r name rest; do count=$((count + 1)); echo "$count:$name:$rest"; done <<EOF2
kiwi green fruit
fig purple
EOF2
