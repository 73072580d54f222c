# Process substitution: <(...) and >(...) (bash and zsh).
diff <(printf 'a\nb\nc\n') <(printf 'a\nx\nc\n')
echo "diff status $?"
while read -r line; do echo "line: $line"; done < <(printf 'one\ntwo\n')
paste <(seq 1 3) <(seq 4 6)
echo hidden > >(tr a-z A-Z > /tmp/upper)
sleep 0.1
cat /tmp/upper
