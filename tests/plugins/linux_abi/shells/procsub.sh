cat <(echo "process substitution: read")
while read -r l; do echo "from <(...): $l"; done < <(printf 'x\ny\n')
