# Pipelines: data through several commands, statuses, while-read at the end of a pipe.
printf '%s\n' pear apple fig apple kiwi | sort | uniq -c | sort -rn | head -n 2
echo "a b c" | tr ' ' '\n' | wc -l
seq 1 100 | awk '{ s += $1 } END { print s }'
false | true; echo "last status: $?"
true | false; echo "last status: $?"
printf 'x\ny\nz\n' | while read -r line; do echo "read $line"; done
yes | head -n 3
echo hello | { read -r greeting; echo "got $greeting"; }
seq 1 5 | grep -v 3 | tr '\n' ',' ; echo
